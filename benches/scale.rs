//! Generates a project of `n` images × 3 variants shaped like the flagship,
//! for the benchmarks (and for anyone measuring aidc at scale).

/// A recipe with `images` images, each with a clean, a CUDA-runtime and a
/// CUDA-toolkit variant, every image slightly different so nothing is shared
/// across images by accident.
pub fn recipe(images: usize) -> String {
    let mut s = String::from(
        "import \"std/fedora\"\nimport \"std/kernel\"\nimport \"std/nvidia\"\nimport \"std/cuda\"\nimport \"std/tools\"\n\n\
         let driver = \"580.95.05\"\n\n",
    );
    for i in 0..images {
        s.push_str(&format!(
            r#"/// Generated image {i}.
image gen-{i} {{
  from fedora.silverblue(44)
  kernel kernel.longterm("6.18")
  use tools.ramalama()
  use tools.goose("1.4.0")
  packages ["tool-{i}", "python3-lib-{i}"]
  write "/etc/gen/{i}.conf" """
    [gen]
    index = {i}
    """
  kargs ["gen.index={i}"]
  enable "gen-{i}.service"
  label "org.opencontainers.image.title" = "Generated {i}"
  policy {{ proprietary = deny, telemetry = deny, remote-ai = deny }}
  signing {{ key = secret("akmods-key"), cert = file("keys/gen.der") }}

  variant clean {{}}
  variant cuda-runtime {{
    policy {{ proprietary = allow }}
    use fedora.remix()
    kmod nvidia.open(driver)
    use nvidia.container-toolkit()
    use cuda.runtime("13.0")
  }}
  variant cuda-toolkit extends cuda-runtime {{
    use cuda.toolkit("13.0")
  }}
}}

"#
        ));
    }
    s
}
