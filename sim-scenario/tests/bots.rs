//! The scenario has bots doing everything a figure can count them in, so
//! each figure's "bots counted" value differs from its "bots left out"
//! one and a product counting bots the wrong way fails the ground truth.

use sim_scenario::ScenarioSize;
use sim_scenario::truth::{LeaderboardMetric, Scope};

#[test]
fn bots_react_sit_in_voice_join_and_leave() {
    let (_, truth) = sim_scenario::generate(1, ScenarioSize::SMALL);
    for guild in &truth.guild_ids {
        let g = *guild;
        let out = Scope::new(g, truth.start_ms, truth.end_ms);
        let all = out.clone().including_bots();
        let bot_reactions = |added: bool| {
            truth
                .reactions
                .iter()
                .filter(|r| r.guild_id == g && r.user_is_bot && r.added == added)
                .count()
        };
        assert!(bot_reactions(true) > 0, "guild {g}: bots react");
        assert!(
            bot_reactions(false) > 0,
            "guild {g}: bots take reactions back"
        );
        assert!(
            truth.voice.iter().any(|v| v.guild_id == g && v.user_is_bot),
            "guild {g}: a bot is in voice"
        );
        let bot_stints: Vec<_> = truth
            .members
            .iter()
            .filter(|m| m.guild_id == g && m.is_bot && !m.initial)
            .collect();
        assert!(
            bot_stints.iter().any(|m| m.rejoin),
            "guild {g}: a bot rejoins"
        );
        assert!(
            bot_stints.iter().any(|m| m.left_ms.is_some()),
            "guild {g}: a bot leaves"
        );

        // Each figure differs between the two ways of counting.
        let voice = |s: &Scope| truth.voice_seconds(s).values().sum::<i64>();
        assert!(voice(&all) > voice(&out), "guild {g}: voice time");
        assert!(
            truth.peak_concurrent(&all) != truth.peak_concurrent(&out),
            "guild {g}: voice peaks"
        );
        let given = |s: &Scope| truth.reactions_given(s).values().sum::<u64>();
        assert!(given(&all) > given(&out), "guild {g}: reactions");
        assert!(
            truth.growth(&all).joins > truth.growth(&out).joins,
            "guild {g}: joins"
        );
        assert!(
            truth.growth(&all).leaves > truth.growth(&out).leaves,
            "guild {g}: leaves"
        );
        assert_ne!(
            truth.leaderboard(&all, LeaderboardMetric::VoiceSeconds),
            truth.leaderboard(&out, LeaderboardMetric::VoiceSeconds),
            "guild {g}: the voice leaderboard"
        );
    }
}
