//! Whole scans scored side by side on a CPU.
//!
//! A scan's network passes are batches of small images, where libtorch's threads share little
//! work and spin; the post-processing after them (candidates, distance transforms, lesion
//! matching) is ours and runs on one thread. Two scans at once, each on one libtorch thread,
//! kept both cores busy: `mtsa evaluate --split external-site-b` twice side by side on one
//! thread each took 180 s against 2 x 113 s one after the other on two threads, with the same
//! `metrics.json` byte for byte (2-core AMD EPYC, `lscpu` family 25 model 1; docs/whole-scan.md,
//! thirty-first session). Each worker holds its own copy of the network
//! ([`TrainedModel::replica`]: libtorch tensors may not be shared between threads) and results
//! come back in the patients' order, so the scores are the same on any number of workers.

use crate::EvalError;
use mtsa_infer::TrainedModel;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tch::Device;

/// At most this many scans at once: each holds a scan's network passes and probability maps
/// (about 0.9 GB for a 1 mm scan at the demo's sizes), so more would cost memory, not time.
const MAX_WORKERS: usize = 4;

/// How scans are shared out: `workers` side by side, each on `threads` libtorch threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Workers {
    pub workers: usize,
    pub threads: usize,
}

impl Workers {
    /// One scan at a time on a GPU (it runs one scan's batches at once already); on a CPU, as
    /// many scans as libtorch has threads, up to [`MAX_WORKERS`], sharing the threads out.
    pub(crate) fn for_model(model: &TrainedModel, scans: usize) -> Self {
        let threads = usize::try_from(tch::get_num_threads()).unwrap_or(1).max(1);
        let workers = match model.device {
            Device::Cpu => threads.min(MAX_WORKERS).min(scans).max(1),
            _ => 1,
        };
        Self {
            workers,
            threads: (threads / workers).max(1),
        }
    }
}

/// `score(model, item)` for every item, on `plan.workers` threads each with its own
/// `replica()` of the model (the calling thread's `model` itself when there is one worker);
/// results in the items' order, `progress(done, total)` after each. The first error (in the
/// items' order) is returned and the workers stop taking new items.
pub(crate) fn score_scans<M, T, R>(
    plan: Workers,
    items: &[T],
    model: &M,
    replica: impl Fn(&M) -> Result<M, EvalError> + Sync,
    score: impl Fn(&M, &T) -> Result<R, EvalError> + Sync,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<R>, EvalError>
where
    M: Send,
    T: Sync,
    R: Send,
{
    progress(0, items.len());
    if plan.workers <= 1 {
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let r = score(model, item)?;
                progress(i + 1, items.len());
                Ok(r)
            })
            .collect();
    }
    let main_threads = tch::get_num_threads();
    // Each worker's model comes from the calling thread's: `M` need not be shareable.
    let models = (0..plan.workers)
        .map(|_| replica(model))
        .collect::<Result<Vec<M>, EvalError>>()?;
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = AtomicUsize::new(usize::MAX);
    let results: Mutex<Vec<Option<Result<R, EvalError>>>> =
        Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for local in models {
            let (next, done, failed, results) = (&next, &done, &failed, &results);
            let (score, items) = (&score, items);
            s.spawn(move || {
                // libtorch's thread count is per thread once set: this worker's passes run on
                // its share of the cores.
                tch::set_num_threads(plan.threads as i32);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= items.len() || i > failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = score(&local, &items[i]);
                    if r.is_err() {
                        failed.fetch_min(i, Ordering::Relaxed);
                    }
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(r);
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, items.len());
                }
            });
        }
    });
    // The workers' setting also reached libtorch's process-wide count and MKL's: give the
    // calling thread back the threads it had.
    tch::set_num_threads(main_threads);
    let slots = results
        .into_inner()
        .map_err(|_| EvalError::Usage("a whole-scan worker stopped".into()))?;
    let mut out = Vec::with_capacity(items.len());
    for slot in slots {
        match slot {
            Some(r) => out.push(r?),
            // Only items after a failed one are left unscored, and its error came first.
            None => return Err(EvalError::Usage("a whole-scan worker stopped".into())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(workers: usize) -> Workers {
        Workers {
            workers,
            threads: 1,
        }
    }

    /// The "model" is a number each replica copies; scoring adds it to the item.
    fn run(workers: usize, items: &[u32]) -> Result<Vec<u32>, EvalError> {
        let seen = AtomicUsize::new(0);
        let out = score_scans(
            plan(workers),
            items,
            &100u32,
            |m| Ok(*m),
            |m, x| match x {
                13 => Err(EvalError::Usage(format!("item {x} is unlucky"))),
                _ => Ok(m + x),
            },
            &|_, _| {
                seen.fetch_add(1, Ordering::Relaxed);
            },
        );
        // One call before the first item and at most one after each.
        assert!(seen.load(Ordering::Relaxed) <= items.len() + 1);
        out
    }

    #[test]
    fn scans_scored_side_by_side_come_back_in_order() -> Result<(), EvalError> {
        let items: Vec<u32> = (0..40).filter(|x| *x != 13).collect();
        let one = run(1, &items)?;
        assert_eq!(one, items.iter().map(|x| x + 100).collect::<Vec<_>>());
        assert_eq!(run(3, &items)?, one);
        Ok(())
    }

    #[test]
    fn the_first_failing_scan_is_the_error() {
        let items: Vec<u32> = (0..40).collect();
        for workers in [1, 3] {
            match run(workers, &items) {
                Err(EvalError::Usage(m)) => assert_eq!(m, "item 13 is unlucky"),
                other => panic!("{workers} workers: expected item 13's error, got {other:?}"),
            }
        }
    }
}
