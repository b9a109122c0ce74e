//! The random draws every part of the generator makes, from the one seeded
//! stream.

use rand::Rng;

use super::Gen;

impl Gen {
    pub(super) fn unit(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(super) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.random_range(lo..hi)
        }
    }

    pub(super) fn exp_ms(&mut self, mean: f64) -> i64 {
        let u = self.unit();
        (-(1.0 - u).ln() * mean) as i64
    }

    pub(super) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub(super) fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u32;
        }
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }

    pub(super) fn pareto(&mut self, alpha: f64, cap: f64) -> f64 {
        let u = self.unit();
        (1.0 - u).powf(-1.0 / alpha).min(cap)
    }

    pub(super) fn pick(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::super::{DAY, DEFAULT_START_MS, Gen};

    pub(in crate::generate) fn gen_with(seed: u64) -> Gen {
        let (_, truth) = crate::Script::new(1, DEFAULT_START_MS, 1).finish();
        Gen {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_low: 0,
            seq: 0,
            start: DEFAULT_START_MS,
            end: DEFAULT_START_MS + DAY,
            events: Vec::new(),
            truth,
            drop: None,
        }
    }

    #[test]
    fn samplers_have_the_intended_means() {
        let mut g = gen_with(1);
        let n = 20_000;
        for lambda in [0.7, 4.0, 80.0] {
            let mean = (0..n).map(|_| f64::from(g.poisson(lambda))).sum::<f64>() / f64::from(n);
            assert!(
                (mean - lambda).abs() < lambda * 0.05 + 0.05,
                "poisson({lambda}) mean {mean}"
            );
        }
        let picks = (0..n).filter(|_| g.pick(&[1.0, 0.0, 3.0]) == 2).count();
        assert!(
            (14_000..16_000).contains(&picks),
            "weight 3 of 4 picked {picks} times"
        );
        assert!((0..n).all(|_| g.pick(&[0.0, 1.0]) == 1));
        let p: Vec<f64> = (0..n).map(|_| g.pareto(1.2, 40.0)).collect();
        assert!(p.iter().all(|x| (1.0..=40.0).contains(x)));
        assert!(p.iter().filter(|x| **x > 10.0).count() > 100, "heavy tail");
    }
}
