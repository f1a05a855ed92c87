//! The store on SQLite and PostgreSQL: the same behaviour on both, tenant scoping, single-use
//! tokens, sessions, the outbox's leases and the config history.

use crate::support::{backends, store};
use weir_portal::store::{ConfigChange, ConfigItem, EmailToken, NewMail, NewUser, StoreError};

fn user(id: &str, email: &str) -> NewUser {
    NewUser {
        id: id.into(),
        email: email.into(),
        password_hash: "$argon2id$fake".into(),
    }
}

#[tokio::test]
async fn accounts_tokens_and_sessions_behave_the_same_on_both_backends() {
    for (backend, url, _keep) in backends() {
        let s = store(&url).await;
        s.create_account(&user("usr_a", "a@x.test"), "tnt_a", "Acme", 100)
            .await
            .unwrap();
        let dup = s
            .create_account(&user("usr_b", "a@x.test"), "tnt_b", "Other", 100)
            .await;
        assert!(
            matches!(dup, Err(StoreError::EmailTaken)),
            "{backend}: {dup:?}"
        );
        // The failed signup left nothing behind (one transaction).
        assert!(s.user("usr_b").await.unwrap().is_none(), "{backend}");
        let u = s.user_by_email("a@x.test").await.unwrap().expect(backend);
        assert_eq!((u.id.as_str(), u.email_verified_at), ("usr_a", None));
        let m = s.memberships_of("usr_a").await.unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].tenant_name.as_str(), m[0].role.as_str()),
            ("Acme", "owner")
        );

        let token = EmailToken {
            token_hash: "h1".into(),
            purpose: "verify".into(),
            email: "a@x.test".into(),
            user_id: Some("usr_a".into()),
            tenant_id: None,
            role: None,
            expires_at: 200,
        };
        s.insert_email_token(&token, 100).await.unwrap();
        assert!(
            s.take_email_token("h1", "reset", 150)
                .await
                .unwrap()
                .is_none(),
            "{backend}: wrong purpose"
        );
        assert!(
            s.take_email_token("h1", "verify", 250)
                .await
                .unwrap()
                .is_none(),
            "{backend}: expired"
        );
        assert!(
            s.take_email_token("h1", "verify", 150)
                .await
                .unwrap()
                .is_some(),
            "{backend}"
        );
        assert!(
            s.take_email_token("h1", "verify", 151)
                .await
                .unwrap()
                .is_none(),
            "{backend}: used twice"
        );

        s.create_session("sess", "usr_a", "csrf", 100, 200)
            .await
            .unwrap();
        assert_eq!(
            s.session("sess", 150)
                .await
                .unwrap()
                .expect(backend)
                .csrf_token,
            "csrf"
        );
        assert!(
            s.session("sess", 200).await.unwrap().is_none(),
            "{backend}: expired session"
        );
        s.set_password("usr_a", "$argon2id$new").await.unwrap();
        assert!(
            s.session("sess", 150).await.unwrap().is_none(),
            "{backend}: password change ends sessions"
        );

        s.record_login_failure("a@x.test", "10.0.0.1", 100)
            .await
            .unwrap();
        s.record_login_failure("a@x.test", "10.0.0.2", 101)
            .await
            .unwrap();
        s.record_login_failure("b@x.test", "10.0.0.1", 102)
            .await
            .unwrap();
        assert_eq!(
            s.login_failures("a@x.test", "10.0.0.1", 0).await.unwrap(),
            (2, 2)
        );
        assert_eq!(
            s.login_failures("a@x.test", "10.0.0.1", 101).await.unwrap(),
            (1, 1)
        );
        s.clear_login_failures("a@x.test", 0).await.unwrap();
        assert_eq!(
            s.login_failures("a@x.test", "10.0.0.1", 0).await.unwrap(),
            (0, 1)
        );
    }
}

fn item(kind: &str, id: &str, spec: &str) -> ConfigItem {
    ConfigItem {
        kind: kind.into(),
        id: id.into(),
        spec: spec.into(),
    }
}

#[tokio::test]
async fn config_history_is_per_tenant_on_both_backends() {
    for (backend, url, _keep) in backends() {
        let s = store(&url).await;
        s.create_account(&user("usr_a", "a@x.test"), "tnt_a", "A", 1)
            .await
            .unwrap();
        s.create_account(&user("usr_b", "b@x.test"), "tnt_b", "B", 1)
            .await
            .unwrap();
        let v1 = s
            .save_config(
                "tnt_a",
                &ConfigChange::Put(item("pool", "web", "{}")),
                "{\"v\":1}",
                "create pool web",
                "a@x.test",
                10,
            )
            .await
            .unwrap();
        let v2 = s
            .save_config(
                "tnt_a",
                &ConfigChange::Put(item("site", "shop", "{}")),
                "{\"v\":2}",
                "create site shop",
                "a@x.test",
                11,
            )
            .await
            .unwrap();
        assert_eq!((v1, v2), (1, 2), "{backend}");
        // Tenant B has its own numbering and sees none of A's items or versions.
        let b1 = s
            .save_config(
                "tnt_b",
                &ConfigChange::Put(item("pool", "web", "{\"b\":1}")),
                "{}",
                "create pool web",
                "b@x.test",
                12,
            )
            .await
            .unwrap();
        assert_eq!(b1, 1, "{backend}");
        assert_eq!(s.config_items("tnt_b").await.unwrap().len(), 1);
        assert_eq!(s.config_items("tnt_a").await.unwrap().len(), 2);
        assert_eq!(
            s.config_version("tnt_b", 2).await.unwrap(),
            None,
            "{backend}"
        );
        assert_eq!(
            s.config_version("tnt_a", 2).await.unwrap().as_deref(),
            Some("{\"v\":2}")
        );
        let history = s.config_versions("tnt_a").await.unwrap();
        assert_eq!(
            history.iter().map(|v| v.version).collect::<Vec<_>>(),
            [2, 1]
        );
        assert_eq!(history[0].summary, "create site shop");

        s.save_config(
            "tnt_a",
            &ConfigChange::Delete {
                kind: "site".into(),
                id: "shop".into(),
            },
            "{}",
            "delete",
            "a@x.test",
            13,
        )
        .await
        .unwrap();
        assert_eq!(s.config_items("tnt_a").await.unwrap().len(), 1, "{backend}");
        s.save_config(
            "tnt_a",
            &ConfigChange::ReplaceAll(vec![item("pool", "api", "{}"), item("site", "x", "{}")]),
            "{}",
            "rollback",
            "a@x.test",
            14,
        )
        .await
        .unwrap();
        let ids: Vec<String> = s
            .config_items("tnt_a")
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(ids, ["api", "x"], "{backend}");
        assert_eq!(
            s.config_items("tnt_b").await.unwrap()[0].spec,
            "{\"b\":1}",
            "{backend}: B untouched"
        );
    }
}

#[tokio::test]
async fn outbox_leases_retries_and_sends_on_both_backends() {
    for (backend, url, _keep) in backends() {
        let s = store(&url).await;
        let mail = NewMail {
            to: "a@x.test".into(),
            subject: "hi".into(),
            text: "t".into(),
            html: "<p>t</p>".into(),
            kind: "test".into(),
        };
        s.enqueue_mail("m1", &mail, 100).await.unwrap();
        assert!(
            s.claim_mail(99, 10, 60, 5).await.unwrap().is_empty(),
            "{backend}: not due yet"
        );
        let claimed = s.claim_mail(100, 10, 60, 5).await.unwrap();
        assert_eq!(claimed.len(), 1, "{backend}");
        // Leased: a second sender (another replica) gets nothing until the lease ends.
        assert!(
            s.claim_mail(101, 10, 60, 5).await.unwrap().is_empty(),
            "{backend}: leased"
        );
        s.mail_failed("m1", "smtp down", 130).await.unwrap();
        assert!(
            s.claim_mail(120, 10, 60, 5).await.unwrap().is_empty(),
            "{backend}: backing off"
        );
        let again = s.claim_mail(130, 10, 60, 5).await.unwrap();
        assert_eq!(again[0].attempts, 1, "{backend}");
        s.mail_sent("m1", 131).await.unwrap();
        assert_eq!(s.unsent_mail_count().await.unwrap(), 0, "{backend}");
        assert!(
            s.claim_mail(1000, 10, 60, 5).await.unwrap().is_empty(),
            "{backend}: sent once"
        );
    }
}
