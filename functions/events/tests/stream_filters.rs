//! Lambda hands a stream function only the records its event source mapping's filter passes, and the runner and
//! the tests hand them by the code's `is_relevant`: over the changes real writes make, the translated template's
//! filters of `notify` and `events` pass exactly the records the code wants, in every environment that creates them.

mod common;

use shared::ports::store::changes::{Change, to_stream_event};
use testkit::aws::template::{Binding, Resolver, Translated};
use testkit::lambda::stream_filter::{passes, patterns_of};

#[tokio::test]
async fn each_stream_filter_passes_exactly_what_its_function_wants() {
    let changes = common::changes().await;
    let records = to_stream_event(&changes)["Records"].as_array().unwrap().clone();
    type Wants = fn(&Change) -> bool;
    let readers: [(&str, &str, Wants); 2] = [
        ("notify", "NotifyFunction", shared::partners::sber::notify::is_relevant),
        ("events", "EventsFunction", shared::partners::outbound_events::is_relevant),
    ];
    let mut checked = 0;
    for translated in Translated::environments() {
        let functions = Resolver::new(&translated, &Binding::new("filters")).functions();
        for (binary, logical_id, wants) in readers {
            if !functions.iter().any(|f| f.binary == binary) {
                continue;
            }
            let patterns = patterns_of(&translated, logical_id);
            let mut wanted = 0;
            for (change, record) in changes.iter().zip(&records) {
                let passed = passes(&patterns, record);
                assert_eq!(
                    passed,
                    wants(change),
                    "[{}] {binary}: the filter {} {:?} {} / {}",
                    translated.environment,
                    if passed { "passes" } else { "drops" },
                    change.kind,
                    change.key.pk,
                    change.key.sk
                );
                wanted += usize::from(passed);
            }
            assert!(
                wanted > 0 && wanted < changes.len(),
                "[{}] {binary}: the changes hold both cases",
                translated.environment
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "notify in every environment, events where there is a bus");
}
