//! Starts the showcase: `HOST`, `PORT`, `WORKERS` and `RUST_LOG` as the items contract says.

// Another allocator when built with `--features mimalloc` or `jemalloc` (`bench/run --memory`
// compares them; see bench/README.md, "The memory suite").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[cfg(all(feature = "jemalloc", not(feature = "mimalloc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let app = match showcase::app() {
        Ok(app) => app,
        Err(e) => {
            eprintln!("showcase: {e}");
            std::process::exit(2);
        }
    };
    // `showcase` serves; `showcase migrate`, `showcase makemigrations --check` ... manage.
    brisk::cli::main(app)
}
