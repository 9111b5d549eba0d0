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
}
