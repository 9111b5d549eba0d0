//! End-to-end compile benchmarks (resolve, plan, emit; in memory): the
//! flagship, and generated projects of 250, 500 and 1,000 images × 3
//! variants to show that time grows linearly with the number of images.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aidc::resolve::MemLoader;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

mod scale;

fn compile(loader: &MemLoader) -> usize {
    let hash = aidc::driver::hash_with_loader(loader, PathBuf::from("p"));
    let compiled =
        aidc::driver::compile(Path::new("p/image.aid"), loader, &aidc::resolve::SearchPath::default(), "out", &hash)
            .expect("entry");
    assert!(!compiled.diagnostics.has_errors(), "{:?}", compiled.diagnostics.into_sorted());
    compiled.outputs.map_or(0, |o| o.len())
}

fn project(recipe: String, files: &[(&str, Vec<u8>)]) -> MemLoader {
    let mut map = BTreeMap::new();
    map.insert(PathBuf::from("p/image.aid"), recipe.into_bytes());
    for (p, b) in files {
        map.insert(Path::new("p").join(p), b.clone());
    }
    MemLoader(map)
}

fn flagship(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ai-desktop");
    let loader = project(
        std::fs::read_to_string(dir.join("image.aid")).expect("flagship"),
        &[
            ("files/90-ai-desktop.conf", std::fs::read(dir.join("files/90-ai-desktop.conf")).expect("conf")),
            ("keys/ai-desktop.der", std::fs::read(dir.join("keys/ai-desktop.der")).expect("cert")),
        ],
    );
    c.bench_function("flagship end to end", |b| b.iter(|| compile(&loader)));
}

fn generated(c: &mut Criterion) {
    let mut group = c.benchmark_group("generated images x 3 variants");
    group.sample_size(10);
    for n in [250, 500, 1000] {
        let loader = project(scale::recipe(n), &[("keys/gen.der", b"certificate".to_vec())]);
        group.bench_with_input(BenchmarkId::from_parameter(n), &loader, |b, loader| b.iter(|| compile(loader)));
    }
    group.finish();
}

criterion_group!(benches, flagship, generated);
criterion_main!(benches);
