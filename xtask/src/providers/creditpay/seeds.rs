//! Credit Pay's fuzz seeds: signing vectors and inbound calls for `creditpay_verify`,
//! `creditpay_callback` and `creditpay_webhook`, recorded answers for `creditpay_response`.

use gameauth_contract::{Direction, SeedInput, Seeds};

use crate::fuzz::{field, framed, header_lines, is_signature_header, response_seed, seed_name};

/// The routes the Credit Pay targets sign for: the credit-limit query and the webhook.
const CREDITPAY_CALLBACK_ROUTE: &str = "/api/v1/credit-pay/notify";
const CREDITPAY_WEBHOOK_ROUTE: &str = "/api/v1/credit-pay/webhook";

pub(super) fn add(input: &SeedInput, seeds: &mut Seeds) -> Result<(), String> {
    for (stem, v) in &input.vectors {
        let (path, body) = (field(v, "path"), field(v, "body"));
        let headers = format!("signature:{}\n", field(v, "signature"));
        let name = format!("signing-{stem}");
        seeds.add(
            "creditpay_verify",
            name.clone(),
            framed(&[path.as_bytes(), headers.as_bytes(), body.as_bytes()]),
        );
        if path == CREDITPAY_CALLBACK_ROUTE {
            seeds.add("creditpay_callback", name, framed(&[b"", body.as_bytes()]));
        }
    }
    for (stem, fixture) in &input.fixtures {
        for i in &fixture.interactions {
            let name = seed_name(stem, i);
            match i.direction {
                Direction::Inbound => {
                    let body = i.request.body_bytes()?;
                    let all = header_lines(i.request.headers.iter());
                    let path = i.request.path.as_bytes();
                    seeds.add(
                        "creditpay_verify",
                        name.clone(),
                        framed(&[path, &all, &body]),
                    );
                    let unsigned = header_lines(
                        i.request
                            .headers
                            .iter()
                            .filter(|(n, _)| !is_signature_header(n)),
                    );
                    let target = match i.request.path.as_str() {
                        CREDITPAY_CALLBACK_ROUTE => "creditpay_callback",
                        CREDITPAY_WEBHOOK_ROUTE => "creditpay_webhook",
                        _ => continue,
                    };
                    seeds.add(target, name, framed(&[&unsigned, &body]));
                }
                Direction::Outbound => seeds.add("creditpay_response", name, response_seed(i)?),
            }
        }
    }
    Ok(())
}
