//! Build secrets as the plan mounts them: the recipe's `secret("ID")` is
//! mounted under one id that local builds and Konflux's buildah task both
//! give. The plan owns the id; emit shows it in the build command and the
//! Konflux backend reads each target's [`SecretMount`]s for the secret its
//! PipelineRun mounts.

use serde::Serialize;

/// The file every build secret holds in its Kubernetes secret.
///
/// Konflux's buildah tasks mount the Kubernetes secret named by their
/// `ADDITIONAL_SECRET` param and pass each of its files to the build as
/// `--secret id=<secret>/<file>` (konflux-ci/build-definitions
/// `task/buildah*/`, the `--secret-dirs` of konflux-build-cli). So the
/// recipe's `secret("ID")` is the Kubernetes secret `ID`, holding the key in
/// the file `key`, and the Containerfile mounts it with
/// `--mount=type=secret,id=ID/key`.
pub const SECRET_FILE: &str = "key";

/// One build secret a target mounts. It serializes as its `id`, the one
/// thing the Containerfile template shows.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretMount {
    /// The Kubernetes secret: the part of the recipe's id before the first
    /// `/` (so `akmods-key` and `akmods-key/key` both give `akmods-key`).
    pub name: String,
    /// The id the Containerfile mounts, `NAME/key`; local builds pass the
    /// same: `podman build --secret id=NAME/key,src=FILE`.
    pub id: String,
}

impl Serialize for SecretMount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.id)
    }
}

impl SecretMount {
    /// The mount of the recipe's `secret("ID")`.
    pub fn of(secret: &str) -> SecretMount {
        let name = secret.split('/').next().unwrap_or(secret).to_string();
        let id = format!("{name}/{SECRET_FILE}");
        SecretMount { name, id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_ids_follow_the_buildah_task() {
        assert_eq!(SecretMount::of("akmods-key").id, "akmods-key/key");
        assert_eq!(SecretMount::of("akmods-key/key").id, "akmods-key/key");
        assert_eq!(SecretMount::of("akmods-key/key").name, "akmods-key");
    }
}
