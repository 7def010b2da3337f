//! What one license-password check costs with the parameters verify-password uses (argon2id,
//! m=12 MiB, t=3, p=1): `make bench` runs it in release and reports the median.
//! Prints `{"parameters": …, "hashMs": …, "verifyMs": …}`.

use icp_domain::password;
use std::time::Instant;

const ROUNDS: usize = 21;

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let stored = password::hash("Bench-Filing-2026");
    let timed = |check: &dyn Fn()| {
        let started = Instant::now();
        check();
        started.elapsed().as_secs_f64() * 1000.0
    };
    let hash_ms = (0..ROUNDS)
        .map(|_| timed(&|| drop(password::hash("Bench-Filing-2026"))))
        .collect();
    let verify_ms = (0..ROUNDS)
        .map(|_| timed(&|| assert!(password::verify(&stored, "Bench-Filing-2026"))))
        .collect();
    println!(
        r#"{{"parameters": "{}", "hashMs": {:.2}, "verifyMs": {:.2}}}"#,
        password::parameters(),
        median_ms(hash_ms),
        median_ms(verify_ms)
    );
}
