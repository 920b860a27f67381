//! Permission names in types: `Permission<perm!("reports.view_report")>` checks
//! `reports.view_report`, and the name is checked when the app compiles.

/// A permission's name, `app_label.codename`, carried by a type (see [`perm!`](crate::perm)).
///
/// ```
/// use brisk_auth::PermissionName;
///
/// /// An app's own name for a permission, instead of `perm!`.
/// struct PublishPost;
/// impl PermissionName for PublishPost {
///     const NAME: &'static str = "blog.publish_post";
/// }
/// assert_eq!(<brisk_auth::perm!("blog.publish_post") as PermissionName>::NAME, PublishPost::NAME);
/// ```
pub trait PermissionName: Send + Sync + 'static {
    /// `app_label.codename`.
    const NAME: &'static str;
}

/// Bytes [`perm!`](crate::perm) packs per chunk, and the chunks a name may take.
const CHUNK: usize = 16;
const CHUNKS: usize = 8;
/// The longest name `perm!` takes: Django's app label and codename are 100 characters each;
/// 128 bytes covers every permission name seen in practice.
pub const MAX_PERM_LEN: usize = CHUNK * CHUNKS;

/// A permission name packed into const generics by [`perm!`](crate::perm): eight 16-byte
/// chunks and the length. Name it through the macro, never by hand.
pub struct PackedPerm<
    const LEN: usize,
    const A: u128,
    const B: u128,
    const C: u128,
    const D: u128,
    const E: u128,
    const F: u128,
    const G: u128,
    const H: u128,
>;

impl<
        const LEN: usize,
        const A: u128,
        const B: u128,
        const C: u128,
        const D: u128,
        const E: u128,
        const F: u128,
        const G: u128,
        const H: u128,
    > PackedPerm<LEN, A, B, C, D, E, F, G, H>
{
    const BYTES: [u8; MAX_PERM_LEN] = unpack([A, B, C, D, E, F, G, H]);
    const TEXT: &'static [u8] = Self::BYTES.split_at(LEN).0;
}

impl<
        const LEN: usize,
        const A: u128,
        const B: u128,
        const C: u128,
        const D: u128,
        const E: u128,
        const F: u128,
        const G: u128,
        const H: u128,
    > PermissionName for PackedPerm<LEN, A, B, C, D, E, F, G, H>
{
    const NAME: &'static str = match std::str::from_utf8(Self::TEXT) {
        Ok(name) => name,
        Err(_) => panic!("perm!: the packed name is not UTF-8"),
    };
}

const fn unpack(chunks: [u128; CHUNKS]) -> [u8; MAX_PERM_LEN] {
    let mut out = [0u8; MAX_PERM_LEN];
    let mut i = 0;
    while i < MAX_PERM_LEN {
        out[i] = chunks[i / CHUNK].to_be_bytes()[i % CHUNK];
        i += 1;
    }
    out
}

/// Chunk `index` of `name`, checked: what [`perm!`](crate::perm) expands to. Stops the build
/// with a sentence when the name is not `app_label.codename`.
#[doc(hidden)]
pub const fn chunk(name: &str, index: usize) -> u128 {
    let bytes = checked(name).as_bytes();
    let mut buf = [0u8; CHUNK];
    let mut i = 0;
    while i < CHUNK {
        let at = index * CHUNK + i;
        if at < bytes.len() {
            buf[i] = bytes[at];
        }
        i += 1;
    }
    u128::from_be_bytes(buf)
}

/// `name`'s length, checked (see [`chunk`]).
#[doc(hidden)]
pub const fn length(name: &str) -> usize {
    checked(name).len()
}

const fn checked(name: &str) -> &str {
    let bytes = name.as_bytes();
    if bytes.len() > MAX_PERM_LEN {
        panic!("perm!: a permission name is at most 128 bytes");
    }
    let mut dots = 0;
    let mut dot_at = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'.' {
            dots += 1;
            dot_at = i;
        } else if !(b.is_ascii_alphanumeric() || b == b'_') {
            panic!("perm!: a permission name is `app_label.codename`, letters, digits and `_` only");
        }
        i += 1;
    }
    if dots != 1 || dot_at == 0 || dot_at + 1 == bytes.len() {
        panic!("perm!: a permission name is `app_label.codename`, with one dot (\"blog.change_post\")");
    }
    name
}

/// The type of the permission `"app_label.codename"`, for [`Permission<P>`](crate::Permission):
/// `Permission<perm!("reports.view_report")>`. A name that is not `app_label.codename` stops
/// the build.
///
/// ```compile_fail
/// type Bad = brisk_auth::perm!("no dot here");
/// const _: &str = <Bad as brisk_auth::PermissionName>::NAME;
/// ```
#[macro_export]
macro_rules! perm {
    ($name:literal) => {
        $crate::PackedPerm<
            { $crate::__private::length($name) },
            { $crate::__private::chunk($name, 0) },
            { $crate::__private::chunk($name, 1) },
            { $crate::__private::chunk($name, 2) },
            { $crate::__private::chunk($name, 3) },
            { $crate::__private::chunk($name, 4) },
            { $crate::__private::chunk($name, 5) },
            { $crate::__private::chunk($name, 6) },
            { $crate::__private::chunk($name, 7) },
        >
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_survive_packing() {
        assert_eq!(<crate::perm!("reports.view_report") as PermissionName>::NAME, "reports.view_report");
        assert_eq!(<crate::perm!("a.b") as PermissionName>::NAME, "a.b");
        const LONG: &str =
            "a_rather_long_app_label_for_an_app.change_a_model_with_a_long_name_indeed_0123456789";
        assert_eq!(
            <crate::perm!(
                "a_rather_long_app_label_for_an_app.change_a_model_with_a_long_name_indeed_0123456789"
            ) as PermissionName>::NAME,
            LONG
        );
    }
}
