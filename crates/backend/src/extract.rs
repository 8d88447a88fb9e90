//! Extractors that answer malformed input in the API's JSON error shape: axum's own answer with
//! a plain-text body, which a JSON client cannot parse. Each is axum's extractor with
//! [`ApiError`] as its rejection (`#[derive(FromRequest)]`), and [`Json`] is the response type
//! too, so a handler names one `Json` for both directions.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use service_runtime::server::deadlines::BodyTimeout;

use crate::error::ApiError;

/// A JSON body in, or a JSON body out.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A query string; a malformed one answers `400 invalid_query`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Path parameters; ids that do not parse answer 404.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let code = match &r {
            JsonRejection::JsonDataError(_) => {
                return ApiError::InvalidBody {
                    field: path_error(&r).and_then(field_of),
                    message: r.body_text(),
                };
            }
            JsonRejection::JsonSyntaxError(_) => "malformed_json",
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            // The client did not send the body in time (BODY_READ_TIMEOUT_SECONDS).
            _ if caused_by::<BodyTimeout>(&r) => {
                return ApiError::BadRequest {
                    status: StatusCode::REQUEST_TIMEOUT,
                    code: "body_timeout",
                    message: BodyTimeout.to_string(),
                };
            }
            _ => "bad_body",
        };
        ApiError::BadRequest {
            status: r.status(),
            code,
            message: r.body_text(),
        }
    }
}

type PathError = serde_path_to_error::Error<serde_json::Error>;

/// Whether `err` or one of its causes is an `E`.
fn caused_by<E: std::error::Error + 'static>(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.is::<E>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// The `serde_path_to_error` error axum's `Json` keeps as the cause of a data error.
fn path_error(r: &JsonRejection) -> Option<&PathError> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(r);
    while let Some(e) = cause {
        if let Some(found) = e.downcast_ref::<PathError>() {
            return Some(found);
        }
        cause = e.source();
    }
    None
}

/// The field a JSON data error is about: the path serde_path_to_error recorded
/// (`amount_cents`, `items[0].date`), plus, for a missing field, the field serde names (it is
/// not on the path yet: the error happens in the struct that lacks it). `None` when the body as
/// a whole has the wrong shape.
fn field_of(err: &PathError) -> Option<String> {
    let path = err.path().to_string();
    let at = (path != ".").then_some(path);
    // serde's own wording for `de::Error::missing_field`, which serde_json keeps.
    let inner = err.inner().to_string();
    let missing = inner
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(field, _)| field.to_string());
    match (at, missing) {
        (Some(at), Some(field)) => Some(format!("{at}.{field}")),
        (at, missing) => missing.or(at),
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest {
            status: r.status(),
            code: "invalid_query",
            message: r.body_text(),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        // An id that is not even a UUID cannot name a row: the same answer as a missing row.
        match r {
            PathRejection::FailedToDeserializePathParams(_) => ApiError::NotFound,
            other => ApiError::internal(anyhow::anyhow!(other.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)] // only deserialized, to produce errors
    struct Body {
        password: String,
        amount_cents: i64,
    }

    fn error_for(json: &str) -> PathError {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize::<_, Body>(de).expect_err("a data error")
    }

    #[test]
    fn names_the_field_of_json_data_errors() {
        assert_eq!(
            field_of(&error_for(r#"{"amount_cents": 5}"#)).as_deref(),
            Some("password")
        );
        assert_eq!(
            field_of(&error_for(r#"{"password": "x", "amount_cents": "x"}"#)).as_deref(),
            Some("amount_cents")
        );
        assert_eq!(field_of(&error_for(r#""not an object""#)), None);
    }
}
