//! The commands' one way to read the configuration file: [`mailstaple_config::load`], with its
//! warnings and notes on standard error. `config check` prints the same findings itself.

use std::path::Path;

use mailstaple_config::{File, Loaded};

/// Loads the file for `command` (`serve`, `send`, `fetch`): warnings and notes go to standard
/// error; an unreadable or invalid file is an `Err` listing every error.
pub(crate) fn load(path: &Path, command: &str) -> anyhow::Result<File> {
    let Loaded { file, findings, .. } = mailstaple_config::load(path)?;
    for f in findings {
        eprintln!("mailstaple {command}: {}: {f}", path.display());
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    //! `config check` and the commands agree on every file: generated configurations, built
    //! from good, missing, mismatched and malformed files and values, are accepted by
    //! [`mailstaple_config::load`] (what `config check` runs) exactly when `serve`, `send` and
    //! `fetch --daemon` get past loading them.

    // Tests work on their own data: a failure is a test failure.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;

    use mailstaple_testpki::{DAY, HOUR, KeyAlg, NOW, Pki};
    use proptest::prelude::*;

    /// The files the generated configurations name, written once.
    fn fixtures() -> &'static Path {
        static DIR: OnceLock<PathBuf> = OnceLock::new();
        DIR.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("mailstaple-agree-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let pki = Pki::shared(KeyAlg::EcdsaP256);
            pki.write_pem_files(&dir).unwrap();
            let other = Pki::shared(KeyAlg::EcdsaP384);
            std::fs::write(dir.join("other.key"), other.leaf.key_pem()).unwrap();
            let proof = pki
                .response()
                .this_update(NOW - HOUR)
                .next_update(Some(NOW + 3650 * DAY))
                .build();
            std::fs::write(dir.join("leaf.der"), proof).unwrap();
            std::fs::write(dir.join("garbage.pem"), "not a certificate\n").unwrap();
            std::fs::write(dir.join("msg.eml"), "Subject: hi\n\nhello\n").unwrap();
            std::fs::create_dir_all(dir.join("spool")).unwrap();
            std::fs::write(dir.join("a-file"), "").unwrap();
            dir
        })
    }

    /// A value for `option` from a pool of good and bad ones (`{d}` is the fixtures' directory).
    fn pool(option: &'static str) -> &'static [&'static str] {
        match option {
            "listen" => &["\"127.0.0.1:0\"", "\"localhost\"", "25"],
            "hostname" => &["\"mail.example.test\"", "\"two words\""],
            "spool" => &["\"{d}/spool\"", "\"{d}/a-file/spool\"", "\"\""],
            "tls_certificate" => &[
                "\"{d}/chain.pem\"",
                "\"{d}/missing.pem\"",
                "\"{d}/garbage.pem\"",
                "\"{d}/chain.pem : {d}/chain.pem\"",
            ],
            "tls_privatekey" => &["\"{d}/leaf.key\"", "\"{d}/other.key\"", "\"{d}/nokey.pem\""],
            "tls_ocsp_file" => &["\"{d}/leaf.der\"", "\"{d}/new.der\"", "\"{d}/nodir/x.der\""],
            "tls_ocsp_issuer" => &["\"{d}/issuer.pem\"", "\"{d}/garbage.pem\""],
            "fetch" => &[
                "true",
                "false",
                "\"{d}/chain.pem\"",
                "\"{d}/leaf.pem\"",
                "1",
            ],
            "smtp_accept_max" => &["5", "-1"],
            "smtp_receive_timeout" => &["\"5m\"", "\"5 min\""],
            "hosts_require_ocsp" => &["\"+relays\"", "\"+nolist\"", "\"127.0.0.1\"", "\"^(\""],
            "hosts_request_ocsp" => &["\"*\"", "\"\""],
            "tls_verify_certificates" => &["\"{d}/root.pem\"", "\"{d}/nothere.pem\"", "\"\""],
            "relays" => &["\"127.0.0.1 : mail.example.test\"", "\"192.0.2.0/33\""],
            "concurrency" => &["4", "0", "\"4\""],
            "timeout" => &["30", "-1"],
            "status" => &["\"{d}/status.json\"", "\"\""],
            "cert" => &[
                "\"{d}/leaf.pem\"",
                "\"{d}/garbage.pem\"",
                "\"{d}/missing.pem\"",
            ],
            "issuer" => &["\"{d}/issuer.pem\"", "\"{d}/garbage.pem\""],
            "out" => &[
                "\"{d}/leaf.der\"",
                "\"{d}/fetched.der\"",
                "\"{d}/nodir/x.der\"",
            ],
            "url" => &["\"http://127.0.0.1:1/\"", "\"ftp://x/\""],
            _ => &["\"x\""],
        }
    }

    /// A section with some of its options, each with a value from its pool.
    fn section(
        header: &'static str,
        options: &'static [&'static str],
    ) -> impl Strategy<Value = String> {
        prop::sample::subsequence(options, 0..=options.len())
            .prop_flat_map(|chosen| {
                let values: Vec<_> = chosen
                    .into_iter()
                    .map(|o| {
                        // Mostly the good value (first in the pool), so that many files pass.
                        let good = pool(o).first().copied().unwrap_or_default();
                        prop_oneof![4 => Just(good), 1 => prop::sample::select(pool(o))]
                            .prop_map(move |v| (o, v))
                    })
                    .collect();
                values
            })
            .prop_map(move |kv| {
                let mut s = format!("{header}\n");
                for (k, v) in kv {
                    s.push_str(&format!("{k} = {v}\n"));
                }
                s
            })
    }

    fn file_text() -> impl Strategy<Value = String> {
        (
            prop::option::weighted(
                0.8,
                section(
                    "[server]",
                    &[
                        "listen",
                        "hostname",
                        "spool",
                        "tls_certificate",
                        "tls_privatekey",
                        "tls_ocsp_file",
                        "tls_ocsp_issuer",
                        "fetch",
                        "smtp_accept_max",
                        "smtp_receive_timeout",
                    ],
                ),
            ),
            prop::option::of(section(
                "[client]",
                &[
                    "hosts_require_ocsp",
                    "hosts_request_ocsp",
                    "tls_verify_certificates",
                ],
            )),
            prop::option::of(section("[hostlists]", &["relays"])),
            prop::option::of(section("[fetch]", &["concurrency", "timeout", "status"])),
            prop::collection::vec(
                section("[[fetch.certificate]]", &["cert", "issuer", "out", "url"]),
                0..3,
            ),
        )
            .prop_map(|(server, client, lists, fetch, entries)| {
                let mut s = String::new();
                for part in [server, client, lists, fetch].into_iter().flatten() {
                    s.push_str(&part);
                }
                for e in entries {
                    s.push_str(&e);
                }
                s.replace("{d}", &fixtures().display().to_string())
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn config_check_accepts_exactly_what_the_commands_accept(text in file_text()) {
            let dir = fixtures();
            let path = tempfile::NamedTempFile::new_in(dir).unwrap();
            std::fs::write(path.path(), &text).unwrap();
            let checked = mailstaple_config::load(path.path());
            let serve = crate::serve_cmd::accepts(path.path());
            let send = crate::send_cmd::accepts(path.path(), &dir.join("msg.eml"));
            let fetch = crate::fetch_cmd::accepts(path.path());
            let verdict = |r: &anyhow::Result<()>| match r {
                Ok(()) => "accepts".to_owned(),
                Err(e) => format!("refuses: {e:#}"),
            };
            let all_accept = serve.is_ok() && send.is_ok() && fetch.is_ok();
            prop_assert_eq!(
                checked.is_ok(),
                all_accept,
                "\n{}\nconfig check: {}\nserve: {}\nsend: {}\nfetch: {}",
                text,
                checked.as_ref().map_or_else(|e| format!("refuses: {e}"), |_| "accepts".into()),
                verdict(&serve),
                verdict(&send),
                verdict(&fetch)
            );
        }
    }
}
