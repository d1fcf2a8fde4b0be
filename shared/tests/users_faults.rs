//! Adding a user when DynamoDB applies the transaction but the answer is lost: the SDK's retry meets the login's
//! condition, and the directory recognises its own write instead of calling the login taken.

use shared::identity::users::{UserError, Users};
use testkit::aws::faults::{Fault, Plan, Service};

#[tokio::test]
async fn a_user_added_behind_a_lost_answer_is_added_once() {
    let faulty =
        testkit::aws::faults::deps(Plan::every_fault(0.0, &[Service::DynamoDb], 1), &[], Default::default()).await;
    let users = Users::new(faulty.deps.store.as_ref());
    faulty.proxy.set_operations(&["TransactWriteItems"]);
    faulty.proxy.set_faults(&[Fault::DropAfter]);
    faulty.proxy.limit(1);
    faulty.proxy.set_share(1.0);
    let added = users.add("Carol", "carol-password-1", 1_795_374_238).await.unwrap();
    assert_eq!(faulty.proxy.injected()[&Fault::DropAfter], 1, "the first attempt was applied and its answer lost");
    faulty.proxy.set_share(0.0);
    let listed = Users::new(faulty.direct.as_ref()).list().await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&added));
    // A real second add of the login is still refused.
    assert_eq!(users.add("carol", "another-password", 1_795_374_239).await, Err(UserError::LoginTaken("carol".into())));
}
