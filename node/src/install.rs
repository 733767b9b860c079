//! `linli install`: systemd units for an office's node — the daemon (`<name>.service`) and a
//! daily backup (`<name>-backup.service` run by `<name>-backup.timer`).
//!
//! The daemon runs as an unprivileged user with the data directory as its only writable
//! path (`ProtectSystem=strict`, `ReadWritePaths=`), no new privileges, a private `/tmp`,
//! no devices, kernel tunables or modules, only the address families networking needs
//! (IPv4, IPv6, unix, netlink for the interface list mDNS watches), the system-service
//! syscall set, `UMask=0077`; it is restarted when it fails. The backup runs
//! `linli backup` into `<data dir>/backups` (or `--backup-dir`), safe while the daemon runs,
//! keeping the newest 14.
//! Tested with `systemd-analyze verify`.

use std::path::{Path, PathBuf};

/// What `linli install` needs.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// The node's data directory (absolute).
    pub data_dir: PathBuf,
    /// The user the node runs as.
    pub user: String,
    /// The `linli` binary (absolute).
    pub binary: PathBuf,
    /// Base name of the units (default `linli`).
    pub name: String,
    /// Where the daily backups go (default `<data_dir>/backups`).
    pub backup_dir: Option<PathBuf>,
}

/// One generated unit file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// File name, e.g. `linli.service`.
    pub file: String,
    /// Its text.
    pub text: String,
}

/// A bad argument of `linli install`.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A path that systemd cannot take as it is.
    #[error("{what} {path:?}: {reason}")]
    Path {
        /// Which argument.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// A user or unit name that is not valid.
    #[error("{what} {value:?}: {reason}")]
    Name {
        /// Which argument.
        what: &'static str,
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },
}

fn check_path(what: &'static str, path: &Path) -> Result<String, InstallError> {
    let bad = |reason| InstallError::Path {
        what,
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_absolute() {
        return Err(bad("must be an absolute path"));
    }
    let s = path.to_str().ok_or_else(|| bad("is not valid UTF-8"))?;
    if s.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '%' | '"' | '\'' | '\\' | '$' | ';')
    }) {
        return Err(bad(
            "holds a space, quote, backslash, %, $, ; or control character, which unit files would have to escape; choose a plain path",
        ));
    }
    if s.len() > 1 && s.ends_with('/') {
        return Ok(s.trim_end_matches('/').to_string());
    }
    if s == "/" {
        return Err(bad("the root directory cannot be a data directory"));
    }
    Ok(s.to_string())
}

/// A user name as `useradd` and systemd's `User=` take it.
fn check_user(user: &str) -> Result<(), InstallError> {
    let bad = |reason| InstallError::Name {
        what: "user",
        value: user.to_string(),
        reason,
    };
    let mut chars = user.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if !first_ok
        || user.len() > 31
        || !user
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(bad(
            "a user name is 1–31 characters a-z, 0-9, _ and -, starting with a letter or _",
        ));
    }
    if user == "root" {
        return Err(bad(
            "the node must not run as root; create a user, e.g. `useradd --system --home-dir /var/lib/linli linli`",
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), InstallError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(InstallError::Name {
            what: "unit name",
            value: name.to_string(),
            reason: "1–64 characters a-z, A-Z, 0-9, - and _",
        })
    }
}

/// Under a home directory (`ProtectHome=yes` would hide it).
fn under_home(path: &str) -> bool {
    ["/home", "/root", "/run/user"]
        .iter()
        .any(|h| path == *h || path.starts_with(&format!("{h}/")))
}

/// Hardening shared by both services.
fn hardening(home: &str, writable: &str) -> String {
    format!(
        "NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectSystem=strict
ProtectHome={home}
ReadWritePaths={writable}
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
UMask=0077
"
    )
}

/// The unit files for `opts`: `<name>.service`, `<name>-backup.service`,
/// `<name>-backup.timer`.
pub fn units(opts: &InstallOptions) -> Result<Vec<Unit>, InstallError> {
    let dir = check_path("data directory", &opts.data_dir)?;
    let bin = check_path("linli binary", &opts.binary)?;
    check_user(&opts.user)?;
    check_name(&opts.name)?;
    let backups = match &opts.backup_dir {
        Some(b) => check_path("backup directory", b)?,
        None => format!("{dir}/backups"),
    };
    let home = if [&dir, &bin, &backups].iter().any(|p| under_home(p)) {
        // Read-only rather than hidden: the data directory is made writable below.
        "read-only"
    } else {
        "yes"
    };
    let name = &opts.name;
    let user = &opts.user;
    let daemon = format!(
        "# Generated by `linli install`: the linli node of {dir}.
[Unit]
Description=linli node ({dir})
Documentation=man:systemd.exec(5)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User={user}
ExecStart={bin} --dir {dir} run
Restart=on-failure
RestartSec=5s
TimeoutStopSec=60s
KillSignal=SIGTERM
{hardening}RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK

[Install]
WantedBy=multi-user.target
",
        hardening = hardening(home, &dir),
    );
    // `linli backup` without `--to` writes to `<dir>/backups` (created 0700); another
    // directory is named with a final `/` so that it is taken as a directory.
    // The newest fortnight of daily backups is kept.
    let (writable, to) = if opts.backup_dir.is_none() {
        (dir.clone(), String::new())
    } else {
        (format!("{dir} {backups}"), format!(" --to {backups}/"))
    };
    let backup = format!(
        "# Generated by `linli install`: a backup of the linli node of {dir} (run by {name}-backup.timer).
[Unit]
Description=linli backup ({dir} to {backups})
Documentation=man:systemd.exec(5)

[Service]
Type=oneshot
User={user}
ExecStart={bin} --dir {dir} backup{to} --keep 14
Nice=10
IOSchedulingClass=idle
{hardening}RestrictAddressFamilies=AF_UNIX
PrivateNetwork=yes
",
        hardening = hardening(home, &writable),
    );
    let timer = format!(
        "# Generated by `linli install`: a daily backup of the linli node of {dir}.
[Unit]
Description=Daily linli backup ({dir})

[Timer]
OnCalendar=daily
RandomizedDelaySec=30min
Persistent=true
Unit={name}-backup.service

[Install]
WantedBy=timers.target
"
    );
    Ok(vec![
        Unit {
            file: format!("{name}.service"),
            text: daemon,
        },
        Unit {
            file: format!("{name}-backup.service"),
            text: backup,
        },
        Unit {
            file: format!("{name}-backup.timer"),
            text: timer,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(dir: &str) -> InstallOptions {
        InstallOptions {
            data_dir: PathBuf::from(dir),
            user: "linli".into(),
            binary: PathBuf::from("/usr/local/bin/linli"),
            name: "linli".into(),
            backup_dir: None,
        }
    }

    #[test]
    fn a_data_directory_under_home_is_made_writable_under_a_read_only_home() {
        let u = units(&opts("/home/office/linli")).unwrap();
        assert!(
            u[0].text.contains("ProtectHome=read-only\n"),
            "{}",
            u[0].text
        );
        assert!(u[0].text.contains("ReadWritePaths=/home/office/linli\n"));
        let u = units(&opts("/var/lib/linli/")).unwrap();
        assert!(u[0].text.contains("ProtectHome=yes\n"), "{}", u[0].text);
        assert!(
            u[0].text.contains("--dir /var/lib/linli run\n"),
            "{}",
            u[0].text
        );
    }

    #[test]
    fn another_backup_directory_is_writable_for_the_backup_only() {
        let mut o = opts("/var/lib/linli");
        o.backup_dir = Some(PathBuf::from("/srv/backups/linli"));
        o.name = "dianye".into();
        let u = units(&o).unwrap();
        let names: Vec<&str> = u.iter().map(|u| u.file.as_str()).collect();
        assert_eq!(
            names,
            [
                "dianye.service",
                "dianye-backup.service",
                "dianye-backup.timer"
            ]
        );
        assert!(u[0].text.contains("ReadWritePaths=/var/lib/linli\n"));
        assert!(
            u[1].text
                .contains("ReadWritePaths=/var/lib/linli /srv/backups/linli\n")
        );
        assert!(
            u[1].text
                .contains("--dir /var/lib/linli backup --to /srv/backups/linli/ --keep 14\n")
        );
        assert!(u[2].text.contains("Unit=dianye-backup.service\n"));
    }

    #[test]
    fn bad_paths_and_names_are_named() {
        for (dir, why) in [
            ("relative/dir", "absolute"),
            ("/", "root directory"),
            ("/var/lib/a b", "plain path"),
            ("/var/lib/100%", "plain path"),
        ] {
            let e = units(&opts(dir)).unwrap_err().to_string();
            assert!(
                e.contains(why) && e.contains("data directory"),
                "{dir}: {e}"
            );
        }
        let mut o = opts("/var/lib/linli");
        o.user = "root".into();
        assert!(units(&o).unwrap_err().to_string().contains("root"));
        o.user = "9lives".into();
        assert!(units(&o).unwrap_err().to_string().contains("user"));
    }
}
