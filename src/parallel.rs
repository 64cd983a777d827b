//! Work on many items at once, on a bounded number of threads: every stack
//! compiled (`pipeline::for_each_stack`), every target refreshed (`drift
//! --all`, `status --all`). Each thread takes the next item when it is done
//! with one, so memory follows the items being worked, not their number.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Runs `work` on every item, on at most `workers` threads, and returns the
/// results in the items' order. `done` sees each result on the calling thread
/// as it comes (to say so at once). With one worker it all runs here.
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    work: impl Fn(&T) -> R + Sync,
    mut done: impl FnMut(&T, &R),
) -> Vec<R> {
    let workers = workers.min(items.len()).max(1);
    if workers == 1 {
        return items
            .iter()
            .map(|item| {
                let result = work(item);
                done(item, &result);
                result
            })
            .collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let (sender, received) = mpsc::channel();
        for _ in 0..workers {
            let sender = sender.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    if sender.send((i, work(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for (i, result) in received {
            done(&items[i], &result);
            results[i] = Some(result);
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every item was worked on"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_item_once_in_order_on_at_most_the_workers_given() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let items: Vec<u32> = (0..40).collect();
        let mut seen = Vec::new();
        let out = super::in_parallel(
            &items,
            3,
            |n| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(2));
                running.fetch_sub(1, Ordering::SeqCst);
                n * 2
            },
            |n, _| seen.push(*n),
        );
        assert_eq!(out, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        seen.sort();
        assert_eq!(seen, items);
        assert!(most.load(Ordering::SeqCst) <= 3);
    }
}
