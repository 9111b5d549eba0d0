//! Grammars of the names and strings that end up in shell lines and
//! generated files. Each function returns `Err(reason)` in plain words; the
//! caller turns it into a diagnostic at the value's span. Anything that
//! passes here is still quoted when emitted; these checks make sure a value
//! means what it looks like (a package, a unit), not only that it is safe.

/// A character as users see it: itself when printable, escaped otherwise.
fn shown(c: char) -> String {
    if c.is_control() || c.is_whitespace() && c != ' ' { c.escape_default().to_string() } else { c.to_string() }
}

/// An RPM package spec as dnf takes it: a name, optionally with version,
/// epoch (`0:`), a glob, or a capability like `python3dist(torch)`.
pub fn package(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a package name cannot be empty".into());
    }
    if name.len() > 256 {
        return Err("a package name is at most 256 characters".into());
    }
    let first = name.chars().next().unwrap_or(' ');
    if !(first.is_ascii_alphanumeric() || first == '_' || first == '/') {
        return Err(format!("a package name starts with a letter, digit or `_`, not `{first}`"));
    }
    let mut depth = 0i32;
    for c in name.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '+' | '-' | ':' | '*' | '?' | '/' => {}
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced `)`".into());
                }
            }
            c => {
                return Err(format!("`{}` is not allowed in an RPM package name", shown(c)));
            }
        }
    }
    if depth != 0 {
        return Err("unbalanced `(`".into());
    }
    Ok(())
}

const UNIT_TYPES: &[&str] =
    &["service", "socket", "device", "mount", "automount", "swap", "target", "path", "timer", "slice", "scope"];

/// A systemd unit name: `name[@instance].type`.
pub fn unit(name: &str) -> Result<(), String> {
    if name.len() > 255 {
        return Err("a unit name is at most 255 characters".into());
    }
    let Some((stem, ty)) = name.rsplit_once('.') else {
        return Err(format!("a unit name ends in a type, like `.service`; one of: {}", UNIT_TYPES.join(", ")));
    };
    if !UNIT_TYPES.contains(&ty) {
        return Err(format!("`.{ty}` is not a unit type; one of: {}", UNIT_TYPES.join(", ")));
    }
    let (prefix, instance) = match stem.split_once('@') {
        Some((p, i)) => (p, Some(i)),
        None => (stem, None),
    };
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-' | '\\');
    if prefix.is_empty() {
        return Err("the unit name before the type is empty".into());
    }
    if prefix.starts_with('-') {
        return Err("a unit name cannot start with `-`".into());
    }
    if let Some(c) = prefix.chars().find(|c| !ok_char(*c)) {
        return Err(format!("`{}` is not allowed in a unit name", shown(c)));
    }
    if let Some(i) = instance
        && let Some(c) = i.chars().find(|c| !ok_char(*c))
    {
        return Err(format!("`{}` is not allowed in a unit instance name", shown(c)));
    }
    Ok(())
}

/// A Flatpak application id: reverse DNS, three elements or more.
pub fn flatpak_id(id: &str) -> Result<(), String> {
    if id.len() > 255 {
        return Err("an application id is at most 255 characters".into());
    }
    let elements: Vec<&str> = id.split('.').collect();
    if elements.len() < 3 {
        return Err("an application id has at least three parts, like `org.example.App`".into());
    }
    for (i, e) in elements.iter().enumerate() {
        let mut chars = e.chars();
        match chars.next() {
            None => return Err("an application id has an empty part".into()),
            Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
                return Err(format!("each part of an application id starts with a letter or `_`; `{e}` does not"));
            }
            _ => {}
        }
        let last = i + 1 == elements.len();
        if let Some(c) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || (last && *c == '-'))) {
            return Err(format!("`{}` is not allowed in `{e}`", shown(c)));
        }
    }
    Ok(())
}

/// A kernel argument: `key` or `key=value`, no spaces or quotes.
pub fn kernel_argument(arg: &str) -> Result<(), String> {
    let (key, value) = match arg.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (arg, None),
    };
    if key.is_empty() {
        return Err("a kernel argument needs a name before `=`".into());
    }
    if let Some(c) = key.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(format!("`{}` is not allowed in a kernel argument name", shown(c)));
    }
    if key.starts_with('-') {
        return Err("a kernel argument cannot start with `-`".into());
    }
    if let Some(v) = value
        && let Some(c) = v.chars().find(|c| {
            !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ',' | ':' | '=' | '/' | '+' | '@' | '%' | '~' | '-'))
        })
    {
        return Err(format!("`{}` is not allowed in a kernel argument value", shown(c)));
    }
    Ok(())
}

/// A label key: reverse-DNS-like, `org.opencontainers.image.title`.
pub fn label_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 255 {
        return Err("a label key has 1 to 255 characters".into());
    }
    let edge_ok = |c: char| c.is_ascii_alphanumeric();
    if !key.starts_with(edge_ok) || !key.ends_with(edge_ok) {
        return Err("a label key starts and ends with a letter or digit".into());
    }
    if let Some(c) = key.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))) {
        return Err(format!("`{}` is not allowed in a label key", shown(c)));
    }
    if key.contains("..") {
        return Err("a label key cannot contain `..`".into());
    }
    Ok(())
}

/// Directories whose content an image must not ship (bootc keeps `/var`
/// per machine, and the others are mounted at run time).
const NO_CONTENT: &[&str] = &["/var", "/tmp", "/run", "/boot", "/proc", "/sys", "/dev", "/sysroot"];

/// A destination in the image: absolute, normalised, outside run-time mounts.
pub fn destination(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("a destination in the image is an absolute path, starting with `/`".into());
    }
    if path.len() > 4096 {
        return Err("a destination is at most 4096 characters".into());
    }
    if let Some(c) = path.chars().find(|c| c.is_control()) {
        return Err(format!("a path cannot contain the control character `{}`", shown(c)));
    }
    if path.contains('\\') {
        return Err("a path cannot contain `\\`".into());
    }
    if path == "/" {
        return Err("`/` itself is not a file destination".into());
    }
    if path.ends_with('/') {
        return Err("a destination names a file or directory without a trailing `/`".into());
    }
    for segment in path[1..].split('/') {
        match segment {
            "" => return Err("a destination cannot contain `//`".into()),
            "." | ".." => {
                return Err(format!("a destination cannot contain `{segment}`: write the normalised path"));
            }
            _ => {}
        }
    }
    if let Some(dir) =
        NO_CONTENT.iter().find(|d| path.strip_prefix(**d).is_some_and(|r| r.is_empty() || r.starts_with('/')))
    {
        return Err(format!(
            "`{dir}` is not shipped by a bootc image (it is per machine or mounted at run time); put files under `/usr` or `/etc`"
        ));
    }
    Ok(())
}

/// A path in the build context: relative, inside the context; returns the
/// normalised form (`a/./b` -> `a/b`).
pub fn context_path(path: &str) -> Result<String, String> {
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    if path.starts_with('/') {
        return Err("paths in the build context are relative to the recipe's directory, not absolute".into());
    }
    if let Some(c) = path.chars().find(|c| c.is_control()) {
        return Err(format!("a path cannot contain the control character `{}`", shown(c)));
    }
    if path.contains('\\') {
        return Err("a path cannot contain `\\`".into());
    }
    // The path lands in `--mount=...,source=PATH` and in shell words: keep
    // it to characters that mean nothing to either.
    if let Some(c) =
        path.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@' | '/')))
    {
        return Err(format!(
            "`{}` is not allowed in a build-context path (use letters, digits, `.`, `_`, `-`, `+`, `@`)",
            shown(c)
        ));
    }
    let normal = crate::paths::normalize(std::path::Path::new(path));
    if normal.starts_with("..") {
        return Err("the path leaves the build context (the recipe's directory)".into());
    }
    if normal == std::path::Path::new(".") {
        return Err("the path names the build context itself; name a file or directory in it".into());
    }
    Ok(crate::paths::display_path(&normal))
}

/// Why a build-context path may not be copied into an image, if so: a
/// `.git` (the repository's metadata; its `config` may carry a token, e.g.
/// `http.extraheader`) never; an `.env` file (`.env`, `.env.local`,
/// `.envrc`: conventionally secrets) unless the recipe opts in with
/// `dotenv("PATH")` (`env_ok`). Any segment counts (`a/.git/config`).
pub fn protected_path(path: &str, env_ok: bool) -> Option<String> {
    for segment in path.split('/') {
        if segment == ".git" {
            return Some("`.git` is never copied: it holds the repository's history and configuration, which may carry credentials".into());
        }
        if !env_ok && segment.starts_with(".env") {
            return Some(format!("`{segment}` is an environment file, which conventionally holds secrets"));
        }
    }
    None
}

/// A branch name as git accepts one (`git check-ref-format --branch`; the
/// rules of git's `Documentation/git-check-ref-format.txt` and `refs.c`,
/// git/git): no control characters, space, `~ ^ : ? * [ \`; no component
/// starting with `.` or ending in `.lock`; no `..`, `@{`, `//`, leading or
/// trailing `/`, trailing `.`; not `@`, not starting with `-`. On top,
/// what Pipelines-as-Code and aidc's YAML would read specially: `{{`
/// (PaC substitutes `{{ ... }}` in PipelineRuns, pipelines-as-code
/// docs/content/docs/guide/authoringprs.md) and quotes (the branch sits in
/// a CEL string, `target_branch == "..."`).
pub fn git_branch(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a branch name is not empty".into());
    }
    if let Some(c) = name.chars().find(|c| {
        c.is_control() || c.is_whitespace() || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\' | '"' | '\'')
    }) {
        return Err(format!("`{}` is not allowed in a git branch name", c.escape_debug()));
    }
    if name == "@" || name.starts_with('-') {
        return Err("a git branch name is not `@` and does not start with `-`".into());
    }
    for (bad, what) in [("..", "`..`"), ("@{", "`@{`"), ("//", "`//`"), ("{{", "`{{` (Pipelines-as-Code templating)")] {
        if name.contains(bad) {
            return Err(format!("a git branch name cannot contain {what}"));
        }
    }
    if name.starts_with('/') || name.ends_with('/') || name.ends_with('.') {
        return Err("a git branch name does not start or end with `/`, nor end with `.`".into());
    }
    if name.split('/').any(|c| c.starts_with('.') || c.ends_with(".lock")) {
        return Err("no part of a git branch name starts with `.` or ends with `.lock`".into());
    }
    Ok(())
}

/// An `https://` URL without white space, quotes or shell characters.
pub fn url(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("https://") else {
        return Err("downloads use `https://` URLs".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    if let Some(c) = url.chars().find(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '`' | '\\' | '<' | '>' | '{' | '}' | '|' | '^')
    }) {
        return Err(format!("`{}` is not allowed in a URL; percent-encode it", shown(c)));
    }
    Ok(())
}

/// A SHA-256 digest: 64 hexadecimal digits; returns it in lowercase.
pub fn sha256(hex: &str) -> Result<String, String> {
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("a SHA-256 digest is 64 hexadecimal digits; this has {} characters", hex.chars().count()));
    }
    Ok(hex.to_ascii_lowercase())
}

/// A file mode in octal: `0644`, `755`, `0o755` not accepted.
pub fn mode(mode: &str) -> Result<(), String> {
    let digits = mode.strip_prefix('0').filter(|d| d.len() == 3 || d.len() == 4).unwrap_or(mode);
    if !(3..=4).contains(&digits.len()) || !digits.chars().all(|c| ('0'..='7').contains(&c)) {
        return Err("a mode is three or four octal digits, like \"0644\" or \"0755\"".into());
    }
    Ok(())
}

/// An OCI image reference split into its parts, without checking them:
/// `[host[:port]/]path[:tag][@digest]`. The one parser of image references;
/// [`image_reference`] checks the parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageReference<'a> {
    /// Host and path, without tag or digest: `quay.io/org/x`, `localhost:5000/x`.
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    /// What follows `@`: `sha256:<hex>`.
    pub digest: Option<&'a str>,
}

impl<'a> ImageReference<'a> {
    pub fn split(reference: &'a str) -> ImageReference<'a> {
        let (name_tag, digest) = match reference.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (reference, None),
        };
        // A tag follows the last `:` after the last `/` (before it, a `:` is a port).
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (&name_tag[..last_slash + i], Some(&name_tag[last_slash + i + 1..])),
            None => (name_tag, None),
        };
        ImageReference { repository, tag, digest }
    }
}

/// An OCI image reference: `[host[:port]/]path[:tag][@sha256:digest]`.
pub fn image_reference(reference: &str) -> Result<(), String> {
    let ImageReference { repository: name, tag, digest } = ImageReference::split(reference);
    if let Some(d) = digest {
        let Some(hex) = d.strip_prefix("sha256:") else {
            return Err("a digest is written `@sha256:<64 hex digits>`".into());
        };
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
            return Err("a digest is written `@sha256:<64 lowercase hex digits>`".into());
        }
    }
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            return Err(format!("`{tag}` is not a valid tag (letters, digits, `_`, `.`, `-`; at most 128)"));
        }
    }
    let mut components: Vec<&str> = name.split('/').collect();
    if components.iter().any(|c| c.is_empty()) {
        return Err("an image name has an empty path component".into());
    }
    // The first component is a registry host when it has a `.` or `:` or is localhost.
    if components.len() > 1 && (components[0].contains(['.', ':']) || components[0] == "localhost") {
        let host = components.remove(0);
        if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':')) {
            return Err(format!("`{host}` is not a valid registry host"));
        }
    }
    for c in components {
        let ok = c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && c.ends_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-'));
        if !ok {
            return Err(format!(
                "`{c}` is not a valid image path component (lowercase letters, digits, `.`, `_`, `-`)"
            ));
        }
    }
    Ok(())
}

/// A Kubernetes resource quantity as a recipe writes one: a decimal number
/// with an optional binary (`Ki` … `Ei`) or decimal (`m`, `k`, `M` … `E`)
/// suffix, at most 32 characters (kubernetes/apimachinery
/// `pkg/api/resource/quantity.go`; exponents like `1e3` are left out).
pub fn quantity(q: &str) -> bool {
    let number_end = q.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(q.len());
    let (number, suffix) = q.split_at(number_end);
    let digits = number.split('.').collect::<Vec<_>>();
    let number_ok = !number.is_empty()
        && digits.len() <= 2
        && digits.iter().any(|d| !d.is_empty())
        && number.chars().any(|c| c.is_ascii_digit());
    let suffix_ok =
        matches!(suffix, "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei");
    q.len() <= 32 && number_ok && suffix_ok
}

/// A Kubernetes DNS-1123 label (namespaces, label values, each part of a
/// secret name): 1 to 63 lowercase letters, digits and `-`, starting and
/// ending with a letter or digit (kubernetes/apimachinery
/// `pkg/util/validation/validation.go`, `IsDNS1123Label`). The one DNS-label
/// rule; the others build on it.
pub fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A Kubernetes DNS-1123 subdomain (secret names): labels joined by `.`, at
/// most 253 characters (`IsDNS1123Subdomain`).
pub fn dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(dns_label)
}

/// A Konflux Application or Component name: a [`dns_label`] that starts
/// with a letter, as Konflux's webhooks require of both.
pub fn konflux_name(s: &str) -> bool {
    dns_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// Text that goes into a one-line place (a label value, an env value): no
/// control characters but tab.
pub fn one_line(text: &str) -> Result<(), String> {
    match text.chars().find(|c| c.is_control() && *c != '\t') {
        Some(c) => Err(format!("the control character `{}` cannot appear here", shown(c))),
        None => Ok(()),
    }
}

/// One repository of a `.repo` file: its id and whether the file enables it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoSection {
    pub id: String,
    pub enabled: bool,
    /// `gpgcheck=`, when the section sets it.
    pub gpgcheck: Option<bool>,
    /// The URLs of `gpgkey=` (dnf.conf(5): a list, separated by spaces or
    /// commas), as written (dnf's `$releasever`/`$basearch` unexpanded).
    pub gpgkeys: Vec<String>,
}

/// A dnf `.repo` file's name: one path segment ending in `.repo`, made of
/// letters, digits, `.`, `_` and `-` (it names a file aidc writes).
pub fn repo_file_name(name: &str) -> Result<(), String> {
    if !name.ends_with(".repo") || name.len() == ".repo".len() {
        return Err("a repository file's name ends in `.repo`".into());
    }
    if name.starts_with('.') {
        return Err("the name cannot start with `.`".into());
    }
    match name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        Some(c) => Err(format!("`{}` cannot appear in a file name aidc writes", shown(c))),
        None => Ok(()),
    }
}

/// The repositories of a dnf `.repo` file (an INI file: `[id]` sections of
/// `key=value` lines, `#` and `;` comments; dnf.conf(5) "REPO OPTIONS"), in
/// order, each enabled unless its section turns `enabled` off (dnf's default
/// is enabled).
///
/// Read the way libdnf5 reads it (rpm-software-management/dnf5,
/// `libdnf5/utils/iniparser.cpp` and `libdnf5/conf/option_bool.cpp`), and
/// stricter wherever another reader could see other repositories than dnf:
/// * a control character (tab aside), a lone carriage return, U+2028 or
///   U+2029 is refused on every line, comments included: Python's universal
///   newlines and many viewers break lines there, so a "comment" could hide
///   a section dnf or rpm-lockfile-prototype would read;
/// * an indented line is refused: libdnf5 reads it as a continuation of the
///   previous value, or as a section when it starts with `[`, where a
///   trimming reader sees an option;
/// * `enabled` takes libdnf5's booleans, in any case, quoted or not (`1`,
///   `yes`, `true`, `on`; `0`, `no`, `false`, `off`); anything else is
///   refused, as dnf refuses it.
///
/// Also refuses a repository id outside letters, digits, `-`, `_`, `.` and
/// `:`, an id given twice, and a file without repositories.
pub fn repo_file(text: &str) -> Result<Vec<RepoSection>, String> {
    let mut out: Vec<RepoSection> = Vec::new();
    // The ids so far, by set: a scan of `out` was quadratic in the sections.
    let mut ids: crate::maps::HashSet<&str> = crate::maps::HashSet::default();
    for (n, line) in text.lines().enumerate() {
        if let Some(c) = line.chars().find(|c| (c.is_control() && *c != '\t') || matches!(c, '\u{2028}' | '\u{2029}')) {
            return Err(format!("line {}: the character `{}` cannot appear in a repository file", n + 1, shown(c)));
        }
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            return Err(format!(
                "line {}: an indented line (dnf reads it as part of the line before, or as a section)",
                n + 1
            ));
        }
        let line = line.trim_end();
        if let Some(id) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')) {
                return Err(format!("line {}: `[{id}]` is not a repository id", n + 1));
            }
            if !ids.insert(id) {
                return Err(format!("line {}: the repository `{id}` is defined twice", n + 1));
            }
            out.push(RepoSection { id: id.to_string(), enabled: true, gpgcheck: None, gpgkeys: Vec::new() });
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: neither `[id]` nor `key=value`", n + 1));
        };
        let Some(section) = out.last_mut() else {
            return Err(format!("line {}: an option before the first `[id]`", n + 1));
        };
        let flag = |value: &str| {
            dnf_bool(value.trim())
                .ok_or_else(|| format!("line {}: `{}={}` is not a boolean dnf reads", n + 1, key.trim(), value.trim()))
        };
        match key.trim() {
            "enabled" => section.enabled = flag(value)?,
            "gpgcheck" => section.gpgcheck = Some(flag(value)?),
            "gpgkey" => {
                section.gpgkeys = value.split([' ', ',', '\t']).filter(|k| !k.is_empty()).map(str::to_string).collect()
            }
            _ => {}
        }
    }
    if out.is_empty() {
        return Err("no `[id]` section: the file defines no repository".into());
    }
    Ok(out)
}

/// A boolean option's value as libdnf5 reads it: quotes around the value
/// dropped (`IniParser::trim_value`), then `1`/`yes`/`true`/`on` or
/// `0`/`no`/`false`/`off` in any case (`OptionBool::from_string`).
fn dnf_bool(value: &str) -> Option<bool> {
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)).filter(|_| value.len() > 1))
        .unwrap_or(value);
    match unquoted.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// Whether a context file looks like a private key by its name.
pub fn looks_like_private_key(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    name.ends_with(".key")
        || name.ends_with(".priv")
        || name.ends_with(".p12")
        || name.ends_with(".pfx")
        || name.contains("private")
        || matches!(name.as_str(), "id_rsa" | "id_ecdsa" | "id_ed25519" | "id_dsa")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_files_are_read_section_by_section() {
        let text = "# c\n[fedora]\nname=F $releasever\nenabled=1\n\n[fedora-source]\nenabled=0\n[x]\nbaseurl=u\n";
        let ids: Vec<(String, bool)> = repo_file(text).unwrap().into_iter().map(|s| (s.id, s.enabled)).collect();
        assert_eq!(ids, [("fedora".into(), true), ("fedora-source".into(), false), ("x".into(), true)]);
        for bad in ["", "name=x\n", "[a b]\n", "[a]\n[a]\n", "[a]\njunk\n", "[a]\nx=\u{1b}\n"] {
            assert!(repo_file(bad).is_err(), "{bad:?}");
        }
        // What another reader could see differently from dnf is refused:
        // control characters in comments (a lone CR breaks the line for
        // Python), U+2028, indented lines, booleans dnf does not read.
        for bad in [
            "# c\r[hidden]\renabled=1\n[a]\n",
            "#\u{1b}\n[a]\n",
            "# \u{2028}[b]\n[a]\n",
            "[a]\nname=x\n  [b]\n",
            "[a]\nname=x\n  enabled=0\n",
            "[a]\nenabled=maybe\n",
        ] {
            assert!(repo_file(bad).is_err(), "{bad:?}");
        }
        // dnf's booleans, in any case and quoted, and a CRLF file.
        for (text, enabled) in [
            ("[a]\nenabled=off\n", false),
            ("[a]\nenabled=OFF\n", false),
            ("[a]\nenabled=No\n", false),
            ("[a]\nenabled=\"0\"\n", false),
            ("[a]\nenabled = On\n", true),
            ("[a]\r\nenabled=1\r\n", true),
        ] {
            assert_eq!(repo_file(text).unwrap()[0].enabled, enabled, "{text:?}");
        }
        assert!(repo_file_name("fedora-updates.repo").is_ok());
        for bad in ["fedora", ".repo", "../x.repo", "a/b.repo", ".x.repo", "a b.repo"] {
            assert!(repo_file_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quantities_are_kubernetes_quantities() {
        for ok in ["4", "500m", "16Gi", "1.5", "0.5Gi", "8G", "128Mi"] {
            assert!(quantity(ok), "{ok}");
        }
        for bad in ["", "16 GB", "Gi", "16gb", "1.2.3", "-1", ".", "16Gi\n"] {
            assert!(!quantity(bad), "{bad:?}");
        }
    }

    #[test]
    fn branches_follow_git_ref_rules() {
        for ok in ["main", "release/1.2", "feature-x", "v1.0", "a.b/c_d", "user@host"] {
            assert!(git_branch(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "@",
            "-x",
            "a..b",
            "a@{1}",
            "a//b",
            "/a",
            "a/",
            "a.",
            ".a",
            "a/.b",
            "x.lock",
            "a/b.lock/c",
            "a b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "a\nb",
            "a\u{7f}",
            "{{ source_branch }}",
            "a{{b",
            "a\"b",
        ] {
            assert!(git_branch(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn one_dns_label_rule() {
        for ok in ["a", "0a", "a-b", "9", &"a".repeat(63)] {
            assert!(dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!dns_label(bad), "{bad}");
        }
        assert!(dns_subdomain("akmods-key.v1") && !dns_subdomain("a..b"));
        assert!(konflux_name("ai-desktop") && !konflux_name("1-desktop"));
    }

    #[test]
    fn image_references_split_into_parts() {
        let r = ImageReference::split("localhost:5000/a/b:1@sha256:00");
        assert_eq!((r.repository, r.tag, r.digest), ("localhost:5000/a/b", Some("1"), Some("sha256:00")));
        assert_eq!(ImageReference::split("localhost:5000/a/b").repository, "localhost:5000/a/b");
        assert_eq!(ImageReference::split("quay.io/a/b:latest").tag, Some("latest"));
    }

    #[test]
    fn packages() {
        for ok in [
            "ramalama",
            "python3-torch",
            "kernel-longterm-6.18.*",
            "python3dist(torch)",
            "gcc-c++",
            "cuda-libraries-13-0",
        ] {
            assert!(package(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-y", "foo bar", "a;rm -rf /", "$(id)", "a`b`", "a\nb", "x'"] {
            assert!(package(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn units() {
        for ok in ["podman.socket", "nvidia-cdi-refresh.path", "getty@tty1.service", "sys-devices-x.device"] {
            assert!(unit(ok).is_ok(), "{ok}");
        }
        for bad in ["podman", "x.servic", "-x.service", "a b.service", "a;b.service", ".service"] {
            assert!(unit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flatpaks_kargs_labels() {
        assert!(flatpak_id("io.podman_desktop.PodmanDesktop").is_ok());
        assert!(flatpak_id("org.gnome.Builder-Devel").is_ok());
        assert!(flatpak_id("org.gnome").is_err());
        assert!(flatpak_id("org.1gnome.x").is_err());
        assert!(kernel_argument("rd.driver.blacklist=nouveau,nova-core").is_ok());
        assert!(kernel_argument("mitigations=auto").is_ok());
        assert!(kernel_argument("quiet").is_ok());
        assert!(kernel_argument("a b").is_err());
        assert!(kernel_argument("x=\"y\"").is_err());
        assert!(label_key("org.opencontainers.image.title").is_ok());
        assert!(label_key("containers.bootc").is_ok());
        assert!(label_key("a b").is_err());
        assert!(label_key(".x").is_err());
    }

    #[test]
    fn paths() {
        assert!(destination("/usr/lib/sysctl.d/90-ai.conf").is_ok());
        for bad in ["usr/x", "/usr//x", "/usr/./x", "/usr/../etc/x", "/usr/x/", "/var/lib/x", "/tmp/x", "/"] {
            assert!(destination(bad).is_err(), "{bad}");
        }
        assert_eq!(context_path("files/./a.conf").unwrap(), "files/a.conf");
        assert_eq!(context_path("files/x/../a.conf").unwrap(), "files/a.conf");
        for bad in ["../x", "/etc/passwd", "files/../../x", ".", ""] {
            assert!(context_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_digests_modes_references() {
        assert!(url("https://github.com/block/goose/releases/download/v1.4.0/goose.tar.bz2").is_ok());
        assert!(url("http://example.com/x").is_err());
        assert!(url("https://x/a b").is_err());
        assert!(sha256(&"a".repeat(64)).is_ok());
        assert!(sha256("abc").is_err());
        assert!(mode("0644").is_ok() && mode("755").is_ok() && mode("0888").is_err() && mode("rw").is_err());
        for ok in [
            "quay.io/fedora/fedora-bootc:44",
            "quay.io/fedora-ostree-desktops/silverblue:44",
            "localhost/aid-fixture-base:latest",
            "ghcr.io/ublue-os/akmods:main-44",
            "registry.example.com:5000/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(image_reference(ok).is_ok(), "{ok}");
        }
        for bad in ["Quay.io/X/Y", "quay.io/a//b", "quay.io/a:b c", "a@sha256:xyz"] {
            assert!(image_reference(bad).is_err(), "{bad}");
        }
    }
}
