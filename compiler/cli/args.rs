//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// aidc compiles .aid recipes into Containerfiles and Konflux pipelines for
/// bootable Fedora (bootc / Atomic) images.
#[derive(Debug, Parser)]
#[command(name = "aidc", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check recipes without writing anything: parse, resolve, facts,
    /// constraints, policy.
    Check(CheckArgs),
    /// Compile a recipe: write a Containerfile per image, the support files
    /// and a manifest into the output directory, and print the build commands.
    Compile(CompileArgs),
    /// Show the documentation of a stdlib module (`cuda`), definition
    /// (`cuda.runtime`) or diagnostic code (`aid::parse::syntax`).
    Explain(ExplainArgs),
    /// Rewrite recipes in the one canonical layout (comments kept, meaning
    /// unchanged); with `--check`, write nothing and exit 1 naming the files
    /// that are not formatted.
    Fmt(FmtArgs),
    /// Show the components of each image, what orders them (`after`, `use`,
    /// facts read, change rates) and the stages they land in.
    Graph(GraphArgs),
    /// Start a project: a recipe that checks and compiles, `.gitignore` and
    /// `.containerignore`; with `--signing`, a module signing key and
    /// certificate (made with openssl) and the steps to enrol it.
    Init(InitArgs),
    /// Compile a recipe and build one target with podman or buildah, tagged
    /// with its published name and `localhost/NAME`.
    Build(BuildArgs),
    /// Print a shell completion script (bash, zsh or fish) on standard output.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on standard output.
    Man,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Recipe files; default: the `*.aid` files of the current directory.
    pub files: Vec<PathBuf>,
    /// Write nothing; exit 1 when a file is not in the canonical layout.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The recipe; default: the one `*.aid` file of the current directory.
    pub file: Option<PathBuf>,
    /// Text for people, or DOT for graphviz (`aidc graph --format dot | dot -Tsvg`).
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
    /// Read `std/NAME` imports from DIR/NAME.aid instead of the embedded stdlib.
    #[arg(long, value_name = "DIR")]
    pub stdlib: Option<PathBuf>,
    /// A directory to look up library imports in; repeatable.
    #[arg(long = "lib", value_name = "DIR")]
    pub lib: Vec<PathBuf>,
}

/// What `aidc graph` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Stages and build orders with their reasons, for people.
    #[default]
    Text,
    /// A graphviz digraph: a cluster per stage, an edge per dependency.
    Dot,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project directory (created when missing); default: the current one.
    pub dir: Option<PathBuf>,
    /// Also make a key pair and certificate for signing kernel modules
    /// (needs `openssl`); the private key goes to `keys/private/`, which
    /// git and the image build ignore.
    #[arg(long)]
    pub signing: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The build target: a variant (or the image, when it has none).
    pub target: String,
    /// The recipe; default: the one `*.aid` file of the current directory.
    pub file: Option<PathBuf>,
    /// The container engine that builds.
    #[arg(long, value_enum, default_value_t = Engine::Podman)]
    pub engine: Engine,
    /// A build secret's file: `PATH` for the target's only secret, or
    /// `ID=PATH` (`akmods-key=keys/private/x.priv`); repeatable. Without it a
    /// secret comes from the environment variable `AID_SECRET_<ID>`.
    #[arg(long = "secret-file", value_name = "[ID=]PATH")]
    pub secret_files: Vec<String>,
    /// The image name to tag instead of the published one.
    #[arg(long, short = 't', value_name = "NAME")]
    pub tag: Option<String>,
    /// Build on the `localhost/` images of other recipes (built before with
    /// `aidc build`) instead of their published names.
    #[arg(long)]
    pub local: bool,
    /// Print the build command and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Read `std/NAME` imports from DIR/NAME.aid instead of the embedded stdlib.
    #[arg(long, value_name = "DIR")]
    pub stdlib: Option<PathBuf>,
    /// A directory to look up library imports in; repeatable.
    #[arg(long = "lib", value_name = "DIR")]
    pub lib: Vec<PathBuf>,
    /// Further arguments for the engine's `build` (after `--`), e.g. `-- --layers`.
    #[arg(last = true, value_name = "ENGINE ARGS")]
    pub engine_args: Vec<String>,
}

/// The container engines `aidc build` runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    #[default]
    Podman,
    Buildah,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells `aidc completions` writes scripts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// `MODULE`, `MODULE.NAME` or a diagnostic code.
    pub name: String,
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Rendered for people, on standard error.
    #[default]
    Human,
    /// A JSON array on standard output, for CI.
    Json,
}

/// Options shared by the commands that read recipes.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Read `std/NAME` imports from DIR/NAME.aid instead of the embedded stdlib.
    #[arg(long, value_name = "DIR")]
    pub stdlib: Option<PathBuf>,
    /// A directory to look up library imports in (`import "lib/x"`); repeatable,
    /// searched before the directories of `AID_PATH`.
    #[arg(long = "lib", value_name = "DIR")]
    pub lib: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat warnings as errors (exit 1 when there are any).
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Recipe files; default: the `*.aid` files of the current directory.
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The recipe; default: the one `*.aid` file of the current directory.
    /// Its directory is the build context.
    pub file: Option<PathBuf>,
    /// The output directory; must lie inside the build context. Default: `out`
    /// next to the recipe.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write nothing; exit 1 and name the stale files when the outputs on
    /// disk differ from what the recipe gives now.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub input: InputArgs,
    /// Print no build commands (`aidc build` compiles before building).
    #[arg(skip)]
    pub quiet: bool,
}
