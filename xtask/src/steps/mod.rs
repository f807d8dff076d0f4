//! The job builders, one file per kind of job. Each step's builder takes
//! the [`Options`](crate::cli::Options) and returns its jobs.

pub(crate) mod cross;
pub(crate) mod examples;
pub(crate) mod firmware;
pub(crate) mod fuzz;
pub(crate) mod install;
pub(crate) mod lint;
pub(crate) mod nostd;
pub(crate) mod programs;
pub(crate) mod publish;
pub(crate) mod sanitize;
pub(crate) mod test;
