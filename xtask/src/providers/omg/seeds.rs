//! OMG's fuzz seeds: signing vectors and inbound callbacks for `omg_verify` and `omg_callback`,
//! recorded answers for `omg_response`.

use gameauth_contract::{Direction, SeedInput, Seeds};

use crate::fuzz::{field, framed, response_seed, seed_name};

pub(super) fn add(input: &SeedInput, seeds: &mut Seeds) -> Result<(), String> {
    for (stem, v) in &input.vectors {
        let (query, body) = (field(v, "query"), field(v, "body"));
        let sign = field(v, "md5");
        let name = format!("signing-{stem}");
        seeds.add(
            "omg_verify",
            name.clone(),
            framed(&[query.as_bytes(), sign.as_bytes(), body.as_bytes()]),
        );
        seeds.add(
            "omg_callback",
            name,
            framed(&[query.as_bytes(), body.as_bytes()]),
        );
    }
    for (stem, fixture) in &input.fixtures {
        for i in &fixture.interactions {
            let name = seed_name(stem, i);
            match i.direction {
                Direction::Inbound => {
                    let query = i.request.query.as_deref().unwrap_or_default();
                    let sign = i
                        .request
                        .headers
                        .get("sign")
                        .map(String::as_str)
                        .unwrap_or_default();
                    let body = i.request.body_bytes()?;
                    seeds.add(
                        "omg_verify",
                        name.clone(),
                        framed(&[query.as_bytes(), sign.as_bytes(), &body]),
                    );
                    seeds.add("omg_callback", name, framed(&[query.as_bytes(), &body]));
                }
                Direction::Outbound => seeds.add("omg_response", name, response_seed(i)?),
            }
        }
    }
    Ok(())
}
