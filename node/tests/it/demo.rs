//! The district demo plays to the end: six nodes on loopback, every story, agreement.

use linli_node::demo::{DemoOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_district_demo_plays_every_story_and_ends_in_agreement() {
    let opts = DemoOptions {
        volunteers: 5,
        compounds: 3,
        orders: 6,
        ..DemoOptions::default()
    };
    let mut lines = Vec::new();
    let report = run(opts, &mut |l| lines.push(l.to_string())).await;
    let text = lines.join("\n");
    let report = report.unwrap_or_else(|e| panic!("demo failed: {e}\n{text}"));
    assert_eq!(report.nodes, 6);
    assert!(report.agreed);
    // 3 registries, 3 ledgers, 3 wish lists, 4 rooms, a kitchen, the federation, Dianye's
    // volunteer registry.
    assert_eq!(report.documents, 16, "{text}");
    assert!(
        report.refused >= 1,
        "the forged change is stored as refused"
    );
    for needle in [
        "its alternate #1",
        "refused",
        "revoked",
        "caught up",
        "all six nodes agree",
        // The volunteer story: registered at home, served in Hongqi, credited at home, the
        // phone in Dianye's files only (the demo checks it and fails otherwise).
        "Dianye credits 3 points at home",
        "the phone is in Dianye's files only",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}
