//! The catalogue of diagnostic codes. A code is a stable name
//! `aid::<stage>::<name>`; each appears once here, and docs/diagnostics.md
//! has a section for each (a test keeps the two in step).

macro_rules! codes {
    ($($variant:ident = $code:literal, $summary:literal;)*) => {
        /// Every diagnostic code aidc can report.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// All codes, in catalogue order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable code string, e.g. `aid::parse::syntax`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// One line saying when the code is reported.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary,)*
                }
            }
        }
    };
}

codes! {
    // parse
    Syntax = "aid::parse::syntax", "the text does not follow the grammar";
    UnterminatedString = "aid::parse::unterminated_string", "a string is not closed on the line it starts";
    UnterminatedComment = "aid::parse::unterminated_comment", "a block comment is not closed before the end of the file";
    InvalidEscape = "aid::parse::invalid_escape", "a backslash escape in a string is not one the language knows";
    TooDeep = "aid::parse::too_deep", "brackets, comments or interpolations are nested deeper than the limit";
    FileTooLarge = "aid::parse::file_too_large", "a recipe file is larger than the limit";
    InvalidUtf8 = "aid::parse::invalid_utf8", "a recipe file is not valid UTF-8";
    NulByte = "aid::parse::nul_byte", "a recipe file contains a NUL byte";
    InternalRule = "aid::internal::unexpected_rule", "the parser produced a shape lowering does not expect (a compiler bug)";

    // modules
    ImportNotFound = "aid::module::not_found", "an imported module does not exist";
    ImportCycle = "aid::module::cycle", "modules import each other in a cycle";
    ImportPath = "aid::module::invalid_path", "an import path has a form aidc does not accept";
    ImportUnreadable = "aid::module::unreadable", "an imported module exists but cannot be read";
    DuplicateImport = "aid::module::duplicate_binding", "two imports bind the same name";

    // names and values
    UnknownName = "aid::resolve::unknown_name", "a name is not defined";
    NoImage = "aid::resolve::no_image", "a recipe defines no image (a warning)";
    // outputs on disk (`aidc compile --check --format json`)
    StaleOutput = "aid::output::stale", "an output file differs from what the recipe gives";
    OutputConflict = "aid::output::conflict", "a file that is not aidc's is where the recipe gives one";
    DuplicateDefinition = "aid::resolve::duplicate_definition", "a name is defined twice in one module";
    InvalidName = "aid::resolve::invalid_name", "a name does not follow the naming rules";
    WrongKind = "aid::resolve::wrong_kind", "a definition of one kind is used where another kind is expected";
    MissingArgument = "aid::resolve::missing_argument", "a call leaves out a parameter that has no default";
    TooManyArguments = "aid::resolve::too_many_arguments", "a call passes more positional arguments than the definition takes";
    UnknownArgument = "aid::resolve::unknown_argument", "a call names a parameter the definition does not have";
    DuplicateArgument = "aid::resolve::duplicate_argument", "a call passes the same parameter twice";
    TypeMismatch = "aid::resolve::type_mismatch", "a value has a different type than the place it goes to";
    UnknownType = "aid::resolve::unknown_type", "a parameter is declared with a type the language does not have";
    NotCallable = "aid::resolve::not_callable", "something that is not a definition or function is called";
    UnknownKey = "aid::resolve::unknown_key", "a table lookup uses a key the table does not have";
    InvalidVersion = "aid::resolve::invalid_version", "a value used as a version is not one";
    InvalidComparison = "aid::resolve::invalid_comparison", "two values cannot be compared with this operator";
    NotAllowedHere = "aid::resolve::not_allowed_here", "a statement is used in a body that does not accept it";
    UnknownProperty = "aid::resolve::unknown_property", "a body sets a property its kind does not have";
    DuplicateProperty = "aid::resolve::duplicate_property", "a body sets the same property twice";
    MissingProperty = "aid::resolve::missing_property", "a definition lacks a property it needs";
    InvalidValue = "aid::resolve::invalid_value", "a property or entry has a value outside its allowed set";
    SecretMisplaced = "aid::resolve::secret_misplaced", "`secret(...)` is used where a secret may not go";
    UnknownVariant = "aid::resolve::unknown_variant", "a variant or image named in `extends` or `from` does not exist";
    ExtendsCycle = "aid::resolve::extends_cycle", "variants extend each other in a cycle";
    DuplicateVariant = "aid::resolve::duplicate_variant", "an image has two variants with one name";
    MissingFrom = "aid::resolve::missing_from", "an image does not say what it is built from";
    DuplicateStatement = "aid::resolve::duplicate_statement", "a statement that may appear once per variant appears twice";
    UseCycle = "aid::resolve::use_cycle", "a layer uses itself, directly or through other layers";
    EvalTooDeep = "aid::resolve::too_deep", "evaluation, values, `use` or `extends` nest deeper than their limit";
    EvalTooLarge = "aid::resolve::too_large", "evaluation or a variant grows past its limit: values out of proportion to the text, or more than 10,000 components";
    MissingPipeline = "aid::resolve::missing_pipeline", "an image from another file is used but that file has no `pipeline` block to name it";

    // facts and constraints
    UnknownFact = "aid::fact::unknown", "`target.NAME` reads a fact no component of the variant provides";
    DuplicateFact = "aid::fact::duplicate", "two components of one variant provide the same fact";
    FactCycle = "aid::fact::cycle", "facts are defined in terms of each other";
    ConstraintFailed = "aid::constraint::failed", "a `requires` does not hold for a variant";
    UnsignedKmod = "aid::constraint::unsigned_kmod", "a kernel module is built but the variant has no `signing` key (warning)";
    KmodWithoutKernel = "aid::constraint::kmod_without_kernel", "a kernel module is built but no kernel is pinned";
    NoPlatform = "aid::constraint::no_platform", "a component has nothing for one of the pipeline's platforms (no download, repository or support for its architecture)";

    // policy
    PolicyProprietary = "aid::policy::proprietary", "a variant that denies proprietary software contains some";
    PolicyTelemetry = "aid::policy::telemetry", "a variant that denies telemetry contains a component that sends it";
    PolicyRemoteAi = "aid::policy::remote_ai", "a variant that denies remote AI contains a component that uses a remote AI service";
    FedoraBranding = "aid::policy::fedora_branding", "a variant with non-free software keeps Fedora's branding (warning)";
    UndeclaredLicense = "aid::policy::undeclared_license", "a component installs from a mixed repository without declaring its own license";

    // plan
    PlatformsDiffer = "aid::plan::platforms_differ", "a component differs between platforms in a way one Containerfile cannot branch on (an `ENV`, a `LABEL`, a builder stage)";
    HermeticRepo = "aid::plan::hermetic_repo", "a hermetic build's prefetch cannot list a repository: enabled by id but not in the base's repository files, a base without `repofiles`, or one id with a different file per platform";
    HermeticBaseRepos = "aid::plan::hermetic_base_repos", "a hermetic build's base is an image reference or another image of the project, whose repository files aidc does not know: they are not prefetched (warning)";
    HermeticKey = "aid::plan::hermetic_key", "a hermetic build cannot verify a repository's packages: its signing key is not in the image and the pipeline's `keys` has none for it (or `keys` names a repository no image uses)";
    HermeticFetch = "aid::plan::hermetic_fetch", "a hermetic build would download a repository file or Flatpak remote at build time (named by `url` or `flatpakrepo` without `file`)";
    DependencyCycle = "aid::plan::cycle", "components of a variant depend on each other in a cycle";
    MissingInput = "aid::plan::missing_input", "a file the recipe copies, runs or ships does not exist in the build context";
    UnpinnedBase = "aid::plan::unpinned_base", "an image of the project is built from by tag because `aid.lock` has no digest for it (warning)";

    // input that lands in shell lines
    PackageName = "aid::validate::package_name", "a package name is not a valid RPM name";
    UnitName = "aid::validate::unit_name", "a systemd unit name is not valid";
    FlatpakId = "aid::validate::flatpak_id", "a Flatpak application id is not valid";
    KernelArgument = "aid::validate::kernel_argument", "a kernel argument is not valid";
    LabelKey = "aid::validate::label_key", "a label key is not valid";
    DestinationPath = "aid::validate::destination", "a destination path is not absolute and normalised";
    ContextEscape = "aid::validate::context_escape", "a path in the build context is absolute or leaves the context";
    ProtectedPath = "aid::validate::protected_path", "a `.git` or `.env` path would be copied into an image";
    MissingChecksum = "aid::validate::missing_checksum", "a `fetch` has no `sha256`";
    Checksum = "aid::validate::checksum", "a `sha256` is not 64 hexadecimal digits";
    Url = "aid::validate::url", "a URL is not a valid `https://` URL";
    FileMode = "aid::validate::mode", "a file mode is not an octal permission";
    ImageReference = "aid::validate::image_reference", "an image reference is not a valid OCI reference";
    TextContent = "aid::validate::text", "a value contains characters that may not appear in its place";
    PrivateKey = "aid::validate::private_key", "a recipe would copy a private key into the image";
}
