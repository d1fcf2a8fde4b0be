//! Who a request is for: our users (logins, password hashes, linked meters) and OAuth 2.0 (sign-in, grants,
//! access tokens) that links them to partners.

pub mod oauth;
pub mod upstream;
pub mod users;
