//! Hive's fuzz seeds: each recorded answer with the server token answer before it, for
//! `hive_response`.

use gameauth_contract::{Interaction, SeedInput, Seeds};

use crate::fuzz::{framed, seed_name};

pub(super) fn add(input: &SeedInput, seeds: &mut Seeds) -> Result<(), String> {
    const TOKEN_PATH: &str = "/oauth/token";
    let all = &input.fixtures;
    let token_part = |i: &Interaction| -> Result<(String, Vec<u8>), String> {
        Ok((i.response.status.to_string(), i.response.body_bytes()?))
    };
    // Fixtures of the legacy API fetch no server token; they borrow the first recorded one.
    let any_token = all
        .iter()
        .flat_map(|(_, f)| f.outbound())
        .find(|i| i.request.path == TOKEN_PATH)
        .map(token_part)
        .transpose()?
        .unwrap_or_default();
    for (stem, fixture) in all {
        let own_token = fixture
            .outbound()
            .find(|i| i.request.path == TOKEN_PATH)
            .map(token_part)
            .transpose()?;
        let (token_status, token_body) = own_token.as_ref().unwrap_or(&any_token);
        for i in fixture.outbound().filter(|i| i.request.path != TOKEN_PATH) {
            let body = i.response.body_bytes()?;
            let seed = framed(&[
                token_status.as_bytes(),
                token_body,
                i.response.status.to_string().as_bytes(),
                &body,
            ]);
            seeds.add("hive_response", seed_name(stem, i), seed);
        }
    }
    Ok(())
}
