//! The checks themselves: each probe of the Vegas Lounge contract and what it must see.

use super::*;

impl Probe {
    pub(super) async fn run(&mut self, source: CodeSource) {
        let code = match source {
            CodeSource::Given(code) => Some(code),
            CodeSource::Login { username, password } => {
                let result = self.login(&username, &password).await;
                let code = result.as_ref().ok().cloned();
                self.record("login", result.map(drop));
                code
            }
        };

        let tokens = match &code {
            Some(code) => {
                let result = self.exchange(code).await;
                let tokens = match &result {
                    Ok(t) => Some(Tokens {
                        access: t.access.clone(),
                        refresh: t.refresh.clone(),
                    }),
                    Err(_) => None,
                };
                self.record("code exchange", result.map(drop));
                tokens
            }
            None => {
                self.record("code exchange", Err(NOT_RUN_NO_CODE.into()));
                None
            }
        };

        let outcome = match &tokens {
            Some(t) => self.account(&t.access).await,
            None => Err(NOT_RUN_NO_TOKENS.into()),
        };
        self.record("account", outcome);

        let refresh = tokens.as_ref().and_then(|t| t.refresh.clone());
        let outcome = self.wrong_secret(refresh.as_deref()).await;
        self.record("wrong secret refused", outcome);

        let outcome = match &tokens {
            Some(Tokens {
                access,
                refresh: Some(refresh),
            }) => self.refresh(access, refresh).await,
            Some(_) => Err("the code exchange returned no refresh_token".into()),
            None => Err(NOT_RUN_NO_TOKENS.into()),
        };
        self.record("refresh", outcome);

        let outcome = match (&code, &tokens) {
            (Some(code), Some(_)) => self.replay(code).await,
            (Some(_), None) => Err(NOT_RUN_NO_TOKENS.into()),
            (None, _) => Err(NOT_RUN_NO_CODE.into()),
        };
        self.record("code replay refused", outcome);

        let outcome = self.unknown_grant().await;
        self.record("unknown grant type", outcome);

        let outcome = self.error_bodies();
        self.record("error body shape", outcome);

        let outcome = self.cache_headers();
        self.record("cache headers", outcome);
    }

    fn record(&mut self, name: &'static str, outcome: Result<(), String>) {
        match &outcome {
            Ok(()) => eprintln!("PASS {name}"),
            Err(reason) => eprintln!("FAIL {name}: {reason}"),
        }
        self.results.push(CheckResult { name, outcome });
    }

    pub(super) fn report(&self) -> Result<Value, Failure> {
        let passed = self.results.iter().filter(|r| r.outcome.is_ok()).count();
        let failed = self.results.len() - passed;
        let summary = format!("{passed} passed, {failed} failed");
        eprintln!("{summary}");
        let checks: Vec<Value> = self
            .results
            .iter()
            .map(|r| match &r.outcome {
                Ok(()) => json!({ "name": r.name, "passed": true }),
                Err(reason) => json!({ "name": r.name, "passed": false, "reason": reason }),
            })
            .collect();
        let body = json!({
            "passed": passed,
            "failed": failed,
            "summary": summary,
            "checks": checks,
        });
        if failed == 0 {
            Ok(body)
        } else {
            Err(Failure::refused(
                body,
                format!("{failed} of {} checks failed", self.results.len()),
            ))
        }
    }

    /// The demo-login contract: the form, the login, then the authorize redirect with a code.
    async fn login(&mut self, username: &str, password: &SecretString) -> Result<String, String> {
        let authorize = format!(
            "{AUTHORIZE_PATH}?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .finish()
        );
        let mut jar = Jar::default();
        let form_page = format!(
            "{LOGIN_PATH}?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("return_to", &authorize)
                .finish()
        );
        let response = self
            .http
            .send(Method::GET, &form_page, vec![], Bytes::new())
            .await?;
        jar.store(response.headers());
        if response.status() != StatusCode::OK {
            return Err(format!(
                "GET /login answered HTTP {}",
                response.status().as_u16()
            ));
        }
        let html = String::from_utf8_lossy(response.body());
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in hidden_inputs(&html) {
            if !matches!(name.as_str(), "username" | "password" | "return_to") {
                form.append_pair(&name, &value);
            }
        }
        let form = form
            .append_pair("username", username)
            .append_pair("password", password.expose_secret())
            .append_pair("return_to", &authorize)
            .finish();
        let mut headers = vec![(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )];
        // A browser names the page's origin on a form post; logins refuse posts without one.
        let origin = Url::parse(&self.http.base)
            .ok()
            .and_then(|u| HeaderValue::from_str(&u.origin().ascii_serialization()).ok());
        headers.extend(origin.map(|o| (http::header::ORIGIN, o)));
        headers.extend(jar.header());
        let response = self
            .http
            .send(Method::POST, LOGIN_PATH, headers, Bytes::from(form))
            .await?;
        jar.store(response.headers());
        match response.status().as_u16() {
            302 | 303 => {}
            401 => return Err("POST /login answered 401: wrong username or password".into()),
            status => return Err(format!("POST /login answered HTTP {status}, expected 303")),
        }
        let response = self
            .http
            .send(
                Method::GET,
                &authorize,
                jar.header().into_iter().collect(),
                Bytes::new(),
            )
            .await?;
        if !matches!(response.status().as_u16(), 302 | 303) {
            return Err(format!(
                "GET /oauth2.0/authorize after login answered HTTP {}, expected 302 to the \
                 redirect URI",
                response.status().as_u16()
            ));
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or("GET /oauth2.0/authorize redirected without a Location")?;
        code_from_location(location, &self.redirect_uri)
    }

    /// Sends a form to a token endpoint and keeps what the cache and error checks need.
    async fn token_request(
        &mut self,
        label: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<Response<Bytes>, String> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            form.append_pair(k, v);
        }
        let headers = vec![
            (
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            ),
            (ACCEPT, HeaderValue::from_static("application/json")),
        ];
        let response = self
            .http
            .send(Method::POST, path, headers, Bytes::from(form.finish()))
            .await?;
        self.token_answers
            .push((label.to_owned(), response.headers().clone()));
        if response.status().is_client_error() || response.status().is_server_error() {
            self.error_answers
                .push((label.to_owned(), response.clone()));
        }
        Ok(response)
    }

    /// `code` sent to the token endpoint with the right client credentials.
    async fn code_request(&mut self, label: &str, code: &str) -> Result<Response<Bytes>, String> {
        let secret = self.secret.expose_secret().to_owned();
        let client_id = self.client_id.clone();
        self.token_request(
            label,
            TOKEN_PATH,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", &client_id),
                ("client_secret", &secret),
            ],
        )
        .await
    }

    async fn exchange(&mut self, code: &str) -> Result<Tokens, String> {
        let response = self.code_request("code exchange", code).await?;
        tokens(&response).map_err(|e| format!("POST {TOKEN_PATH}: {e}"))
    }

    async fn account(&mut self, access: &str) -> Result<(), String> {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .finish();
        let bearer = HeaderValue::from_str(&format!("Bearer {access}"))
            .map_err(|_| "the access token cannot be sent in a header".to_owned())?;
        let response = self
            .http
            .send(
                Method::GET,
                &format!("{ACCOUNT_PATH}?{query}"),
                vec![
                    (AUTHORIZATION, bearer),
                    (ACCEPT, HeaderValue::from_static("application/json")),
                ],
                Bytes::new(),
            )
            .await?;
        account_shape(&response).map_err(|e| format!("GET {ACCOUNT_PATH}: {e}"))
    }

    async fn wrong_secret(&mut self, refresh: Option<&str>) -> Result<(), String> {
        let client_id = self.client_id.clone();
        // A live refresh token makes the client credentials the only thing wrong; without one, a
        // made-up code (refused either way, but still with the client error first).
        let response = match refresh {
            Some(refresh) => {
                self.token_request(
                    "wrong secret",
                    TOKEN_PATH,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh),
                        ("client_id", &client_id),
                        ("client_secret", WRONG_SECRET),
                    ],
                )
                .await?
            }
            None => {
                self.token_request(
                    "wrong secret",
                    TOKEN_PATH,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", "gameauth-check-made-up-code"),
                        ("client_id", &client_id),
                        ("client_secret", WRONG_SECRET),
                    ],
                )
                .await?
            }
        };
        expect_error(&response, (401, 1001), (&[400, 401], "invalid_client"))
    }

    async fn refresh(&mut self, old_access: &str, old_refresh: &str) -> Result<(), String> {
        let secret = self.secret.expose_secret().to_owned();
        let client_id = self.client_id.clone();
        let form = |refresh: &str| {
            [
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", refresh.to_owned()),
                ("client_id", client_id.clone()),
                ("client_secret", secret.clone()),
            ]
        };
        let fields = form(old_refresh);
        let response = self
            .token_request("refresh", REFRESH_PATH, &borrowed(&fields))
            .await?;
        let first = tokens(&response).map_err(|e| format!("POST {REFRESH_PATH}: {e}"))?;
        let Some(next_refresh) = first.refresh else {
            return Err(format!(
                "POST {REFRESH_PATH} returned no new refresh_token (rotation)"
            ));
        };
        if next_refresh == old_refresh {
            return Err(format!(
                "POST {REFRESH_PATH} returned the same refresh token (no rotation)"
            ));
        }
        if first.access == old_access {
            return Err(format!(
                "POST {REFRESH_PATH} returned the same access token"
            ));
        }
        // Using the successor first makes the old token a reuse even inside a grace window in
        // which a repeated request would legitimately get the same answer again.
        let fields = form(&next_refresh);
        let response = self
            .token_request("second refresh", TOKEN_PATH, &borrowed(&fields))
            .await?;
        tokens(&response)
            .map_err(|e| format!("POST {TOKEN_PATH} with the rotated refresh token: {e}"))?;
        let fields = form(old_refresh);
        let response = self
            .token_request("old refresh token", TOKEN_PATH, &borrowed(&fields))
            .await?;
        expect_error(&response, (401, 1001), (&[400], "invalid_grant"))
            .map_err(|e| format!("the old refresh token after rotation: {e}"))
    }

    async fn replay(&mut self, code: &str) -> Result<(), String> {
        let response = self.code_request("code replay", code).await?;
        expect_error(&response, (401, 1001), (&[400], "invalid_grant"))
    }

    async fn unknown_grant(&mut self) -> Result<(), String> {
        let secret = self.secret.expose_secret().to_owned();
        let client_id = self.client_id.clone();
        let response = self
            .token_request(
                "unknown grant type",
                TOKEN_PATH,
                &[
                    ("grant_type", UNKNOWN_GRANT),
                    ("client_id", &client_id),
                    ("client_secret", &secret),
                ],
            )
            .await?;
        expect_error(&response, (400, 1007), (&[400], "unsupported_grant_type"))
    }

    fn error_bodies(&self) -> Result<(), String> {
        if self.error_answers.is_empty() {
            return Err("no error answer to inspect".into());
        }
        let problems: Vec<String> = self
            .error_answers
            .iter()
            .filter_map(|(label, response)| {
                error_shape(response).err().map(|e| format!("{label}: {e}"))
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    fn cache_headers(&self) -> Result<(), String> {
        if self.token_answers.is_empty() {
            return Err("no token endpoint answer to inspect".into());
        }
        let missing: Vec<String> = self
            .token_answers
            .iter()
            .filter_map(|(label, headers)| {
                let mut lacks = Vec::new();
                if !has_token(headers, &CACHE_CONTROL, "no-store") {
                    lacks.push("Cache-Control: no-store");
                }
                if !has_token(headers, &PRAGMA, "no-cache") {
                    lacks.push("Pragma: no-cache");
                }
                (!lacks.is_empty()).then(|| format!("{label} lacks {}", lacks.join(" and ")))
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing.join("; "))
        }
    }
}
