//! Shows what the `generate` target makes of its inputs:
//! `cargo run --example show -- FILE...` prints each recipe, whether it
//! compiled, and what the Containerfile oracles say.

fn main() {
    let mut compiled = 0;
    let mut total = 0;
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path).expect("read input");
        let Some((recipe, files)) = aidc_fuzz::generate(&data, aidc_fuzz::safe_paths()) else { continue };
        total += 1;
        let r = aidc_fuzz::compile(recipe.as_bytes(), &files);
        let verbose = std::env::var_os("SHOW").is_some();
        if verbose {
            println!("===== {path}\n{recipe}\n----- errors: {}", r.errors);
        }
        if let Some(outputs) = r.outputs {
            compiled += 1;
            for (p, text) in &outputs {
                if p.ends_with("Containerfile") {
                    let problems = aidc_fuzz::containerfile_problems(text);
                    if verbose || !problems.is_empty() {
                        println!("----- {p}\n{text}\n{problems:#?}");
                    }
                }
            }
        }
    }
    println!("{compiled} of {total} generated recipes compiled without errors");
}
