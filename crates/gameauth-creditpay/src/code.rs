//! Credit Pay's response codes.

gameauth_core::result_codes! {
    /// A Credit Pay response `code` other than success.
    #[non_exhaustive]
    pub enum ResponseCode {
        /// `500`: Credit Pay failed on its side; details are in the message.
        ServerError = 500 => "server error",
    }
}
