//! The churn's draws: each arrival's lifetime and the gap to the next, from the
//! workload's own stream, in whole milliseconds. In a module of their own so
//! that, inlined into the event loop, they still count as draws in a profile
//! (benches/callgrind_concerns.py attributes by source file).

use engine::SimTime;
use rand::RngExt;

use crate::exp1::standard_exponential;
use crate::state::{Churn, ChurnDraws};

/// Milliseconds from a non-negative float, rounded half away from zero like
/// `f64::round`, saturating.
#[inline]
fn millis(ms: f64) -> u64 {
    // Below 2^52 the integer part converts exactly and `ms - whole` is exact, so
    // this is `ms.round()` without the libm call (x86-64's baseline has no
    // rounding instruction), on every churn draw. Through i64 because x86-64's
    // baseline converts signed integers in one instruction and unsigned ones in
    // a dozen; below 2^52 both give the same number.
    if ms > 0.0 && ms < 4_503_599_627_370_496.0 {
        let whole = ms as i64;
        (whole + i64::from(ms - whole as f64 >= 0.5)) as u64
    } else if ms.is_finite() && ms > 0.0 {
        ms.round().min(u64::MAX as f64) as u64
    } else if ms > 0.0 {
        u64::MAX
    } else {
        0
    }
}

/// A Poisson process's gap to the next arrival.
#[inline(always)]
pub(super) fn churn_gap(churn: &mut Churn) -> SimTime {
    let gap = standard_exponential(&mut churn.rng) / churn.rate_per_ms;
    SimTime::from_millis(millis(gap))
}

/// One arrival's draws, in the stream's order: the lifetime, then the gap.
#[inline(always)]
pub(super) fn churn_draws(churn: &mut Churn) -> ChurnDraws {
    let lifetime_ms = sample_lifetime(&churn.lifetime, &mut churn.rng);
    ChurnDraws { lifetime_ms, gap: churn_gap(churn) }
}

/// Draw a churn pod's lifetime in milliseconds.
fn sample_lifetime(lifetime: &scenario::Lifetime, rng: &mut rand_chacha::ChaCha8Rng) -> u64 {
    use scenario::Lifetime;
    let secs = |s: u64| s as f64 * 1000.0;
    match *lifetime {
        Lifetime::Fixed(d) => millis(secs(d)),
        Lifetime::Exponential(mean) => millis(standard_exponential(rng) * secs(mean)),
        Lifetime::Uniform(lo, hi) => {
            let u: f64 = rng.random();
            millis(secs(lo) + u * (secs(hi) - secs(lo)))
        }
        Lifetime::LogNormal { median, sigma } => {
            // Box–Muller: one standard normal from two uniforms.
            let u1: f64 = rng.random();
            let u2: f64 = rng.random();
            let z = (-2.0 * libm::log(1.0 - u1)).sqrt() * libm::cos(std::f64::consts::TAU * u2);
            millis(secs(median) * libm::exp(sigma * z))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{millis, sample_lifetime};

    /// The exponential draws (lifetimes here; the gaps are the same draw scaled
    /// by the rate) have the right mean and tail: P(X > k·mean) = e^-k.
    #[test]
    fn exponential_lifetimes_have_their_mean_and_tail() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mean_ms = 600_000.0;
        let n = 400_000;
        let draws: Vec<u64> =
            (0..n).map(|_| sample_lifetime(&scenario::Lifetime::Exponential(600), &mut rng)).collect();
        let mean = draws.iter().sum::<u64>() as f64 / n as f64;
        assert!((mean / mean_ms - 1.0).abs() < 0.01, "mean {mean} ms");
        for k in [0.1f64, 1.0, 3.0, 7.0] {
            let above = draws.iter().filter(|&&d| d as f64 > k * mean_ms).count() as f64 / n as f64;
            let expected = libm::exp(-k);
            // Four binomial standard deviations.
            let sd = (expected * (1.0 - expected) / n as f64).sqrt();
            assert!((above - expected).abs() < 4.0 * sd, "P(X > {k} mean) = {above}, expected {expected}");
        }
    }

    /// What `millis` must stay equal to: the rounding the outputs were made with.
    fn reference(ms: f64) -> u64 {
        if ms.is_finite() && ms > 0.0 {
            ms.round().min(u64::MAX as f64) as u64
        } else if ms > 0.0 {
            u64::MAX
        } else {
            0
        }
    }

    #[test]
    fn millis_rounds_half_away_from_zero_and_saturates() {
        let halfway_below = 0.49999999999999994;
        for ms in [
            0.0,
            -0.0,
            -1.5,
            0.5,
            halfway_below,
            1.5,
            2.5,
            2.4999999999999996,
            1e15 + 0.5,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.3e18,
            1.9e19,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            5e-324,
        ] {
            assert_eq!(millis(ms), reference(ms), "{ms}");
        }
        assert_eq!((millis(0.5), millis(halfway_below), millis(2.5)), (1, 0, 3));
    }

    proptest! {
        #[test]
        fn millis_matches_f64_round(bits in any::<u64>(), small in 0.0f64..1e7) {
            let any = f64::from_bits(bits);
            prop_assert_eq!(millis(any), reference(any));
            prop_assert_eq!(millis(small), reference(small));
        }
    }
}
