// deployer allocates many small values (YAML trees, programs); mimalloc is
// markedly faster than the system allocator at that (see benches/compile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    deployer::cli::main()
}
