//! Presigns one EC2 Query API request with AWS Signature Version 4 so `bench/run.sh` can replay
//! it with wrk: every replay is then verified by deltacloudd's `/ec2` (canonical request, signing
//! key, HMAC, constant-time compare), which is what the benchmark wants to measure.
//!
//! Usage: `bench-sigv4 URL ACCESS_KEY SECRET_ENV EXPIRES_SECS [REGION]`
//!
//! * `URL` is the request without signature, e.g.
//!   `http://127.0.0.1:3001/ec2?Action=DescribeInstances&Version=2016-11-15`. Its authority is
//!   signed as the `host` header, exactly as wrk and curl will send it.
//! * `SECRET_ENV` names the environment variable holding the secret key, so the secret never
//!   appears on a command line (`ps`).
//! * `EXPIRES_SECS` is `X-Amz-Expires`; the script sizes it to cover the whole run, since the
//!   signature is made once at start.
//!
//! The presigned-query form (`X-Amz-Algorithm`, `X-Amz-Credential`, …, `X-Amz-Signature`) is
//! used rather than signed headers because it is valid for `X-Amz-Expires` seconds instead of the
//! ±15 min skew window, so a long run cannot expire half-way. It is signed with `aws-sigv4`, an
//! implementation independent of the server's verifier. Prints the presigned URL on stdout.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

const USAGE: &str = "usage: bench-sigv4 URL ACCESS_KEY SECRET_ENV EXPIRES_SECS [REGION]";

fn presign(
    url: &str,
    access_key: &str,
    secret: &str,
    expires: Duration,
    region: &str,
) -> Result<String, String> {
    let authority = url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(rest))
        .filter(|a| !a.is_empty())
        .ok_or_else(|| format!("not an absolute http URL: {url}"))?;
    let creds = Credentials::new(access_key, secret, None, None, "bench-sigv4");
    let identity = creds.into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ec2")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| format!("signing parameters: {e}"))?
        .into();
    let request = SignableRequest::new(
        "GET",
        url,
        std::iter::once(("host", authority)),
        SignableBody::Bytes(b""),
    )
    .map_err(|e| format!("cannot sign {url}: {e}"))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| format!("signing failed: {e}"))?
        .into_parts();
    let (_, query) = instructions.into_parts();
    let mut out = String::from(url);
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &query {
        ser.append_pair(k, v);
    }
    out.push(if url.contains('?') { '&' } else { '?' });
    out.push_str(&ser.finish());
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(access_key), Some(secret_env), Some(expires)) =
        (args.first(), args.get(1), args.get(2), args.get(3))
    else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let region = args.get(4).map_or("us-east-1", String::as_str);
    let Some(expires) = expires.parse::<u64>().ok().filter(|e| *e > 0) else {
        eprintln!("bench-sigv4: EXPIRES_SECS must be a positive integer\n{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(secret) = std::env::var(secret_env) else {
        eprintln!("bench-sigv4: environment variable {secret_env} is not set");
        return ExitCode::from(2);
    };
    match presign(
        url,
        access_key,
        &secret,
        Duration::from_secs(expires),
        region,
    ) {
        Ok(signed) => {
            println!("{signed}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-sigv4: {e}");
            ExitCode::FAILURE
        }
    }
}
