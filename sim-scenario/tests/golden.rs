//! Golden fingerprints of the generator's output: a refactor of the
//! generator or of the truth must leave every byte of the stream and of the
//! facts unchanged. The generator's output depends on the platform's `f64`
//! math functions (in the last bit), so these values hold for the platform
//! they were recorded on (x86_64 Linux); a deliberate change of the model
//! updates them in the same commit.

use sim_scenario::truth::GroundTruth;
use sim_scenario::{DEFAULT_START_MS, Scenario, ScenarioSize, Script, generate, generate_from};

/// FNV-1a, 64 bits: stable across Rust releases, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `(scenario, truth)` fingerprints: the serialized JSON of each.
fn fingerprint(seed: u64, size: ScenarioSize, start_ms: Option<i64>) -> (u64, u64) {
    let (scenario, truth) = match start_ms {
        Some(start) => generate_from(seed, size, start),
        None => generate(seed, size),
    };
    hash_both(&scenario, &truth)
}

fn hash_both(scenario: &Scenario, truth: &GroundTruth) -> (u64, u64) {
    let s = serde_json::to_vec(scenario).expect("scenario serializes");
    let t = serde_json::to_vec(truth).expect("truth serializes");
    (fnv1a(&s), fnv1a(&t))
}

#[test]
fn fnv1a_matches_its_reference_values() {
    assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
}

#[test]
fn generated_output_matches_its_recorded_fingerprint() {
    let cases = [
        ("TINY seed 1", 1, ScenarioSize::TINY, None),
        ("TINY seed 7", 7, ScenarioSize::TINY, None),
        ("SMALL seed 1", 1, ScenarioSize::SMALL, None),
        (
            "SMALL seed 3 from 2027-03-20",
            3,
            ScenarioSize::SMALL,
            Some(1_805_500_800_000),
        ),
        ("QUARTER seed 2", 2, ScenarioSize::QUARTER, None),
    ];
    let expected: [(u64, u64); 5] = [
        (0xe54c_1afe_5708_ad22, 0xf3fb_4035_b17d_88c1),
        (0x833c_c6d2_0290_78e5, 0xcf3b_7990_6830_79f3),
        (0xe534_7204_6c80_a78b, 0xbe51_397b_73b7_d04c),
        (0x4092_0a20_12f9_5755, 0x8eaf_7f6f_7abf_0cb9),
        (0xc581_3e14_07ab_a0d4, 0x84a5_c25a_1df0_12ac),
    ];
    let got: Vec<(u64, u64)> = cases
        .iter()
        .map(|(_, seed, size, start)| fingerprint(*seed, *size, *start))
        .collect();
    // Every mismatch at once, so a deliberate change updates them in one go.
    let mismatches: Vec<String> = cases
        .iter()
        .zip(got.iter().zip(&expected))
        .filter(|(_, (g, e))| g != e)
        .map(|((name, ..), (g, _))| format!("{name}: ({:#018x}, {:#018x})", g.0, g.1))
        .collect();
    assert!(
        mismatches.is_empty(),
        "fingerprints (scenario, truth) changed:\n{}",
        mismatches.join("\n")
    );
}

/// Every `Script` method once, so the script's payloads and facts are
/// fingerprinted too.
fn every_script_event() -> (Scenario, GroundTruth) {
    const S: i64 = DEFAULT_START_MS;
    let mut s = Script::new(7, S, 2);
    s.channel(10, 4, "Text", None)
        .channel(11, 0, "general", Some(10))
        .channel(12, 2, "Lounge", None)
        .channel(13, 13, "Stage", None)
        .member(100, "ann", false, S - 5_000)
        .member(101, "bob", false, S - 4_000)
        .member(102, "PulseBot", true, S - 3_000)
        .thread_at_start(20, 11, 11, 100)
        .voice_at_start(100, 12);
    s.join(S + 1_000, 103, "cat", false)
        .create_channel(S + 2_000, 14, 0, "event", Some(10))
        .rename_channel(S + 3_000, 14, "event-chat")
        .set_channel_private(S + 3_500, 14, true)
        .create_thread(S + 4_000, 21, 11, 12, 101);
    let m1 = s.message(S + 5_000, 11, 101, 2, 1, 1);
    let m2 = s.message(S + 6_000, 21, 101, 0, 0, 0);
    let m3 = s.message(S + 7_000, 11, 102, 0, 1, 0);
    let w = s.webhook_message(S + 8_000, 14, 900, 1, 2);
    s.react(S + 9_000, 100, m1, "👍")
        .react(S + 10_000, 103, m2, "pulse:555")
        .unreact(S + 11_000, 100, m1, "👍")
        .voice(S + 12_000, 100, Some(12), true, false)
        .voice(S + 13_000, 100, Some(13), true, false)
        .voice(S + 14_000, 101, Some(12), false, false)
        .voice(S + 15_000, 100, None, false, false)
        .voice(S + 16_000, 101, None, false, false)
        .delete(S + 17_000, m3)
        .bulk_delete(S + 18_000, &[m1])
        .delete(S + 19_000, w)
        .archive_thread(S + 20_000, 20)
        .archive_thread(S + 21_000, 21)
        .delete_channel(S + 22_000, 14)
        .leave(S + 23_000, 103)
        .join(S + 24_000, 103, "cat", false);
    s.finish()
}

#[test]
fn scripted_output_matches_its_recorded_fingerprint() {
    let (scenario, truth) = every_script_event();
    let got = hash_both(&scenario, &truth);
    assert_eq!(
        got,
        (0x04c1_c925_cecc_1b20, 0xd28f_a0aa_b624_3a54),
        "fingerprint (scenario, truth) = ({:#018x}, {:#018x})",
        got.0,
        got.1
    );
}
