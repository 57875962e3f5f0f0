//! The magic numbers that open an IDX file, and what they name.

/// The magic number of an IDX images file: unsigned bytes in 3 dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;

/// The magic number of an IDX labels file: unsigned bytes in 1 dimension.
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// What a file with the given magic number is, for messages.
pub(super) fn kind_name(magic: u32) -> &'static str {
    match magic {
        IMAGES_MAGIC => "an IDX images file",
        LABELS_MAGIC => "an IDX labels file",
        _ => "an IDX file",
    }
}

/// The element type named by the third byte of an IDX magic number.
pub(super) fn idx_type_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x08 => "unsigned bytes",
        0x09 => "signed bytes",
        0x0b => "16-bit integers",
        0x0c => "32-bit integers",
        0x0d => "32-bit floats",
        0x0e => "64-bit floats",
        _ => return None,
    })
}
