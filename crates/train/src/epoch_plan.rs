//! How many epochs a run trains when it is given a time rather than a count: the plan fitted to
//! the first epoch's pace and re-fitted after every later one, a deadline for the whole job, and
//! the wall time after which training stops.

use crate::TrainError;
use std::time::Instant;

/// When a job that trains must end, and how long what follows the training takes.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub at: Instant,
    /// The work after training (the demo's calibration and evaluation), in epoch times (the
    /// first epoch's, then the latest epochs'): it runs the same network on the same machine, so
    /// it slows down with the epochs.
    pub after_training_epochs: f64,
}

impl Deadline {
    /// The time from `from` to the deadline, less the work after training at `pace_s` seconds
    /// an epoch; none where that work alone would run past it.
    fn left_to_train(&self, from: Instant, pace_s: f64) -> std::time::Duration {
        let after =
            std::time::Duration::from_secs_f64(pace_s.max(0.0) * self.after_training_epochs);
        self.at
            .saturating_duration_since(from)
            .saturating_sub(after)
    }
}

/// Share of an epoch budget kept spare when the epochs are fitted to it, and how far past it
/// training may run before the plan is cut. In the demo's logs later epochs ran at 1.0-1.35x
/// the first one's time (16.6 s, then up to 22.3 s on a 2-core Xeon; a median of 1.21x in
/// another run), and an overrun delays every step after training.
const BUDGET_SPARE: f64 = 1.1;

/// The wall time after which training stops at the end of an epoch: the time limit, or
/// [`BUDGET_SPARE`] x the epoch budget, whichever comes first. A budget is also a limit because
/// later epochs can run well past the first one's pace on a shared machine; the fitted plan is
/// then cut short, its learning rate not fully decayed.
pub(crate) fn training_time_limit(
    time_limit: Option<std::time::Duration>,
    epoch_budget: Option<std::time::Duration>,
) -> Option<std::time::Duration> {
    let from_budget = epoch_budget.map(|b| b.mul_f64(BUDGET_SPARE));
    [time_limit, from_budget].into_iter().flatten().min()
}

/// A wall time given in minutes (`mtsa train --train-minutes`, `mtsa study --minutes`). Only a
/// positive, finite count is a time: `Duration` would panic on a negative or NaN one.
pub fn minutes(m: f64) -> Result<std::time::Duration, TrainError> {
    match m.is_finite() && m > 0.0 {
        true => Ok(std::time::Duration::from_secs_f64(m * 60.0)),
        false => Err(TrainError::Config(format!(
            "a time budget must be a positive number of minutes, not {m}"
        ))),
    }
}

/// The training time the plan fits: `budget`, or less where a deadline leaves less once the
/// work after training (that many epochs at `pace_s`) is set aside; training counts from
/// `started`.
pub(crate) fn budget_before(
    budget: std::time::Duration,
    deadline: Option<Deadline>,
    started: Instant,
    pace_s: f64,
) -> std::time::Duration {
    let Some(d) = deadline else { return budget };
    budget.min(d.left_to_train(started, pace_s))
}

/// The seconds an epoch takes now: the mean of the epoch just run and the one before it, so
/// that one slow or fast epoch alone does not move a plan.
pub(crate) fn recent_pace(before_s: Option<f64>, latest_s: f64) -> f64 {
    before_s.map_or(latest_s, |b| (b + latest_s) / 2.0)
}

/// The epochs that fit `budget` with [`BUDGET_SPARE`] when `done` epochs took `elapsed_s` and
/// the rest run at `pace_s` each: at least `done` (then training stops; after the first epoch
/// that is one) and at most `max`. The spare is kept on the whole budget, not on what is left,
/// so a plan whose epochs keep their pace fits the same count after every epoch.
pub(crate) fn epochs_fitting(
    budget: std::time::Duration,
    elapsed_s: f64,
    done: usize,
    pace_s: f64,
    max: usize,
) -> usize {
    let left = budget.as_secs_f64() / BUDGET_SPARE - elapsed_s;
    let more = (left.max(0.0) / pace_s.max(1e-3)).floor() as usize;
    done.saturating_add(more).clamp(done, max.max(done))
}

/// The plan after `done` epochs: `plan` while its remaining epochs at `pace_s` still end within
/// `budget` and it is not a tenth shorter than what fits; otherwise what fits
/// ([`epochs_fitting`]). Shorter when the machine slows down (a shared one did by a quarter
/// after the first epoch), longer when a slow first epoch fixed too short a plan (13.7 s, then
/// 10.5 s a median epoch, left a demo at 39 epochs and 9.8 of its 14.5 minutes); the band
/// keeps pace noise of a few percent from moving the learning-rate schedule every epoch.
pub(crate) fn refitted_plan(
    budget: std::time::Duration,
    elapsed_s: f64,
    done: usize,
    pace_s: f64,
    plan: usize,
    max: usize,
) -> usize {
    let fits = epochs_fitting(budget, elapsed_s, done, pace_s, max);
    let plan_ends_s = elapsed_s + plan.saturating_sub(done) as f64 * pace_s;
    let overruns = plan_ends_s > budget.as_secs_f64();
    let falls_short = fits as f64 >= plan as f64 * BUDGET_SPARE;
    match overruns || falls_short {
        true => fits,
        false => plan.clamp(done, max.max(done)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_positive_finite_number_of_minutes_is_a_time() {
        assert_eq!(minutes(1.5).unwrap(), std::time::Duration::from_secs(90));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = minutes(bad).unwrap_err().to_string();
            assert!(e.contains("positive number of minutes"), "{bad}: {e}");
        }
    }

    #[test]
    fn an_epoch_budget_is_also_a_limit_a_tenth_past_it() {
        use std::time::Duration;
        let s = Duration::from_secs;
        assert_eq!(training_time_limit(None, None), None);
        assert_eq!(training_time_limit(Some(s(60)), None), Some(s(60)));
        assert_eq!(training_time_limit(None, Some(s(600))), Some(s(660)));
        assert_eq!(training_time_limit(Some(s(60)), Some(s(600))), Some(s(60)));
        assert_eq!(
            training_time_limit(Some(s(900)), Some(s(600))),
            Some(s(660))
        );
    }

    #[test]
    fn the_plan_follows_the_pace_both_ways_outside_a_band() {
        let s = std::time::Duration::from_secs;
        // 660 s with the spare tenth is 600 s: after 10 epochs of 10 s, 50 more at 10 s.
        assert_eq!(epochs_fitting(s(660), 100.0, 10, 10.0, 100), 60);
        assert_eq!(epochs_fitting(s(660), 100.0, 10, 10.0, 40), 40);
        // Past the spare already: training stops after the epochs done.
        assert_eq!(epochs_fitting(s(660), 650.0, 10, 10.0, 100), 10);
        // The pace held: the plan stands, and so does one a little shorter than what fits.
        assert_eq!(refitted_plan(s(660), 100.0, 10, 10.0, 60, 100), 60);
        assert_eq!(refitted_plan(s(660), 100.0, 10, 10.0, 55, 100), 55);
        // A slow first epoch fixed 40: 60 fit now, a tenth more and then some, so 60.
        assert_eq!(refitted_plan(s(660), 100.0, 10, 10.0, 40, 100), 60);
        // ... but never past the most epochs asked.
        assert_eq!(refitted_plan(s(660), 100.0, 10, 10.0, 40, 50), 50);
        // Slower, 12 s: 60 epochs would end at 700 s, past the budget: 10 + 500 / 12 = 51.
        assert_eq!(refitted_plan(s(660), 100.0, 10, 12.0, 60, 100), 51);
        // A little slower, 10.5 s: 60 end at 625 s, within it: the plan stands.
        assert_eq!(refitted_plan(s(660), 100.0, 10, 10.5, 60, 100), 60);
        assert_eq!(recent_pace(None, 22.0), 22.0);
        assert_eq!(recent_pace(Some(20.0), 24.0), 22.0);
    }

    #[test]
    fn a_deadline_leaves_the_work_after_training_its_time() {
        use std::time::Duration;
        let s = Duration::from_secs;
        let started = Instant::now();
        let deadline = |at: u64| {
            Some(Deadline {
                at: started + s(at),
                after_training_epochs: 20.0,
            })
        };
        assert_eq!(budget_before(s(600), None, started, 18.0), s(600));
        // 13 min left, 20 epochs of 18 s after training: 780 - 360 = 420 s to train.
        assert_eq!(budget_before(s(600), deadline(780), started, 18.0), s(420));
        // Time enough: the budget stands.
        assert_eq!(budget_before(s(600), deadline(1200), started, 10.0), s(600));
        // No time left at all: nothing (epochs_fitting still trains one epoch).
        assert_eq!(budget_before(s(600), deadline(100), started, 18.0), s(0));
    }

    #[test]
    fn the_epoch_budget_is_fitted_with_a_spare_tenth_and_bounded() {
        let min = |m: f64| minutes(m).unwrap();
        // After a first epoch of 10 s: 600 s / (10 s x 1.1) = 54.5 epochs.
        assert_eq!(epochs_fitting(min(10.0), 10.0, 1, 10.0, 100), 54);
        assert_eq!(epochs_fitting(min(10.0), 10.0, 1, 10.0, 30), 30);
        // A first epoch longer than the budget still trains one epoch.
        assert_eq!(epochs_fitting(min(1.0), 120.0, 1, 120.0, 30), 1);
    }
}
