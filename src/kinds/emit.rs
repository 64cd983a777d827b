//! What the emit stage asks of every kind, dispatched by kind: the outputs a
//! reference reads, what using a component grants, the resource others wait for.

use super::{Kind, Spec, cache, microservice, rds, sqs};
use crate::emit::emitter::{Emitter, Grant, Routines};
use crate::emit::program::Part;
use crate::resolve::Wire;

/// What emission asks of every kind, for the emitter's table.
pub static ROUTINES: Routines = Routines {
    grant,
    output,
    main_resource,
};

/// Emits component `index`'s resources, by its kind.
pub fn emit(e: &mut Emitter, index: usize) {
    match &e.stack.components[index].spec {
        Spec::Microservice(..) => microservice::emit::emit(e, index),
        Spec::Rds(_) => rds::emit::emit(e, index),
        Spec::Sqs(_) => sqs::emit::emit(e, index),
        Spec::Cache(_) => cache::emit::emit(e, index),
    }
}

/// What `wire` gives its user, by the kind of the used component.
fn grant(e: &Emitter, target: usize, wire: &Wire) -> Grant {
    match &e.stack.components[target].spec {
        Spec::Microservice(..) => microservice::emit::grant(e, target, wire),
        Spec::Rds(rds) => rds::emit::grant(e, target, rds, wire),
        Spec::Sqs(_) => sqs::emit::grant(e, target, wire),
        Spec::Cache(cache) => cache::emit::grant(e, target, cache, wire),
    }
}

/// An output of a component as parts of a string.
fn output(e: &Emitter, index: usize, output: &str) -> Vec<Part> {
    match &e.stack.components[index].spec {
        Spec::Microservice(..) => microservice::emit::output(e, index, output),
        Spec::Rds(rds) => rds::emit::output(e, index, rds, output),
        Spec::Sqs(_) => sqs::emit::output(e, index, output),
        Spec::Cache(cache) => cache::emit::output(e, index, cache, output),
    }
}

/// The resource other components wait for when they come after this one.
fn main_resource(e: &Emitter, index: usize) -> String {
    let role = match e.stack.components[index].spec.kind() {
        Kind::Microservice => "service",
        Kind::Rds => "instance",
        Kind::Sqs => "queue",
        Kind::Cache => "cache",
    };
    e.name(index, role)
}
