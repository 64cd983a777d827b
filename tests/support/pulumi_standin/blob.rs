//! The self-managed ("DIY") backend's bucket, as Pulumi opens it from
//! `PULUMI_BACKEND_URL` with gocloud.dev (`blobmux.OpenBucket` in
//! `pkg/backend/diy/backend.go`): `file://PATH` or `s3://BUCKET/PREFIX?QUERY`.
//!
//! The query parameters an S3 URL may carry depend on the gocloud.dev version
//! Pulumi was built with, and any other parameter fails every command:
//! - Pulumi 3.227–3.244 pin gocloud v0.37.0 (`pkg/go.mod`). With the default AWS
//!   SDK v1, `NewSessionFromURLParams` takes `profile`, `OpenBucketURL` takes
//!   `ssetype` and `kmskeyid`, and `aws.ConfigFromURLParams` knows only `region`,
//!   `endpoint`, `disableSSL`, `s3ForcePathStyle`, `awssdk`; with `awssdk=v2`,
//!   `V2ConfigFromURLParams` knows `region`, `endpoint`, `profile`, `awssdk`.
//! - Pulumi 3.245+ pin gocloud v0.46.0: `s3blob.OpenBucketURL` takes `ssetype`,
//!   `kmskeyid`, `accelerate`, `disable_https`, `use_path_style` and the legacy
//!   `s3ForcePathStyle`; `aws.V2ConfigFromURLParams` takes `hostname_immutable`,
//!   `region`, `endpoint`, `profile`, `dualstack`, `fips`,
//!   `rate_limiter_capacity`, `anonymous`, `role`,
//!   `request_checksum_calculation`, `response_checksum_validation`, `awssdk`.
//!
//! Errors read `unable to open bucket URL: open bucket URL: unknown query
//! parameter "x"` (backend.go wraps s3blob's error). The S3 bucket is real (moto in
//! the tests): the stand-in never contacts anything but the URL's `endpoint`, and
//! refuses a URL without one.

use aws_sdk_s3::primitives::ByteStream;
use std::path::PathBuf;

pub enum Bucket {
    Dir(PathBuf),
    S3 {
        runtime: tokio::runtime::Runtime,
        client: aws_sdk_s3::Client,
        bucket: String,
        prefix: String,
    },
}

/// Go's `url.QueryUnescape`.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The parameters gocloud accepts, for the Pulumi version pretended.
fn known_parameters(version: (u32, u32, u32), v2: bool) -> &'static [&'static str] {
    if version >= (3, 245, 0) {
        &[
            "ssetype",
            "kmskeyid",
            "accelerate",
            "disable_https",
            "use_path_style",
            "s3ForcePathStyle",
            "hostname_immutable",
            "region",
            "endpoint",
            "profile",
            "dualstack",
            "fips",
            "rate_limiter_capacity",
            "anonymous",
            "role",
            "request_checksum_calculation",
            "response_checksum_validation",
            "awssdk",
        ]
    } else if v2 {
        &[
            "ssetype", "kmskeyid", "region", "endpoint", "profile", "awssdk",
        ]
    } else {
        &[
            "ssetype",
            "kmskeyid",
            "profile",
            "region",
            "endpoint",
            "disableSSL",
            "s3ForcePathStyle",
            "awssdk",
        ]
    }
}

/// fileblob's attributes file of an object.
fn attrs(path: &std::path::Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".attrs");
    PathBuf::from(name)
}

impl Bucket {
    pub fn open(url: &str, version: (u32, u32, u32)) -> Result<Bucket, String> {
        if let Some(path) = url.strip_prefix("file://") {
            return Ok(Bucket::Dir(PathBuf::from(path)));
        }
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(format!(
                "unable to open bucket {url}: no driver registered for the URL's scheme"
            ));
        };
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        let params: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (unescape(k), unescape(v))
            })
            .collect();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let v2 = get("awssdk").is_some_and(|v| v.eq_ignore_ascii_case("v2"));
        let known = known_parameters(version, v2);
        let fail = |why: String| format!("unable to open bucket {url}: open bucket {url}: {why}");
        for (name, _) in &params {
            if !known.contains(&name.as_str()) {
                return Err(fail(format!("unknown query parameter \"{name}\"")));
            }
        }
        let mut path_style = false;
        for key in ["s3ForcePathStyle", "use_path_style"] {
            if let Some(v) = get(key) {
                path_style = parse_bool(&v).ok_or_else(|| {
                    fail(format!("invalid value for query parameter \"{key}\": {v}"))
                })?;
            }
        }
        let endpoint = get("endpoint").ok_or_else(|| {
            "the stand-in never contacts AWS: give the S3 URL an `endpoint` (moto)".to_string()
        })?;
        let region = get("region")
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_else(|| "us-east-1".into());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let config = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(region))
                .load(),
        );
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .endpoint_url(endpoint)
            .force_path_style(path_style)
            .build();
        Ok(Bucket::S3 {
            runtime,
            client: aws_sdk_s3::Client::from_conf(s3),
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    fn key(prefix: &str, key: &str) -> String {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}/{key}")
        }
    }

    pub fn read(&self, key: &str) -> Option<Vec<u8>> {
        match self {
            Bucket::Dir(root) => std::fs::read(root.join(key)).ok(),
            Bucket::S3 {
                runtime,
                client,
                bucket,
                prefix,
            } => runtime.block_on(async {
                let out = client
                    .get_object()
                    .bucket(bucket)
                    .key(Self::key(prefix, key))
                    .send()
                    .await
                    .ok()?;
                Some(out.body.collect().await.ok()?.into_bytes().to_vec())
            }),
        }
    }

    pub fn write(&self, key: &str, bytes: &[u8]) -> Result<(), String> {
        match self {
            Bucket::Dir(root) => {
                let path = root.join(key);
                std::fs::create_dir_all(path.parent().unwrap()).map_err(|e| e.to_string())?;
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                std::fs::write(&tmp, bytes).map_err(|e| e.to_string())?;
                std::fs::rename(tmp, &path).map_err(|e| e.to_string())?;
                // gocloud's fileblob keeps every object's attributes in a
                // `<name>.attrs` file beside it, JSON (`setAttrs`,
                // `blob/fileblob/attrs.go`; the content type is sniffed by
                // `http.DetectContentType`).
                std::fs::write(
                    attrs(&path),
                    "{\"user.content_type\":\"text/plain; charset=utf-8\",\"user.metadata\":null}\n",
                )
                .map_err(|e| e.to_string())
            }
            Bucket::S3 {
                runtime,
                client,
                bucket,
                prefix,
            } => runtime
                .block_on(
                    client
                        .put_object()
                        .bucket(bucket)
                        .key(Self::key(prefix, key))
                        .body(ByteStream::from(bytes.to_vec()))
                        .send(),
                )
                .map(|_| ())
                .map_err(|e| format!("writing s3://{bucket}/{}: {e}", Self::key(prefix, key))),
        }
    }

    pub fn delete(&self, key: &str) {
        match self {
            Bucket::Dir(root) => {
                let _ = std::fs::remove_file(root.join(key));
                let _ = std::fs::remove_file(attrs(&root.join(key)));
            }
            Bucket::S3 {
                runtime,
                client,
                bucket,
                prefix,
            } => {
                let _ = runtime.block_on(
                    client
                        .delete_object()
                        .bucket(bucket)
                        .key(Self::key(prefix, key))
                        .send(),
                );
            }
        }
    }

    /// Keys (relative to the backend root) of the files directly in `dir`.
    pub fn list(&self, dir: &str) -> Vec<String> {
        match self {
            // fileblob's listing leaves its `.attrs` files out.
            Bucket::Dir(root) => std::fs::read_dir(root.join(dir))
                .map(|entries| {
                    entries
                        .flatten()
                        .filter(|e| e.path().is_file())
                        .filter(|e| !e.file_name().to_string_lossy().ends_with(".attrs"))
                        .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy()))
                        .collect()
                })
                .unwrap_or_default(),
            Bucket::S3 {
                runtime,
                client,
                bucket,
                prefix,
            } => {
                let full = format!("{}/", Self::key(prefix, dir));
                let listed =
                    runtime.block_on(client.list_objects_v2().bucket(bucket).prefix(&full).send());
                listed
                    .map(|out| {
                        out.contents()
                            .iter()
                            .filter_map(|o| o.key())
                            .filter(|k| !k[full.len()..].contains('/'))
                            .map(|k| format!("{dir}/{}", &k[full.len()..]))
                            .collect()
                    })
                    .unwrap_or_default()
            }
        }
    }
}
