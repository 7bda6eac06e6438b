// `sqlx::migrate!` embeds both migration folders; rebuild when either changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=migrations-postgres");
}
