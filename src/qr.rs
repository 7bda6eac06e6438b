//! QR codes as inline SVG, drawn on our server: the request URL never goes to a
//! third-party image service.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG QR code for `data`, or `None` when it is too long for a QR code.
pub fn svg(data: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(256, 256)
            .quiet_zone(true)
            .dark_color(svg::Color("#111827"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_an_svg_for_a_request_url() {
        let svg = super::svg("openid-vc://?request_uri=https://verifiedid.did.msidentity.com/v1.0/tenants/x/verifiableCredentials/presentationRequests/y").unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
        assert!(svg.contains("<svg"));
    }

    #[test]
    fn refuses_data_too_long_for_a_qr_code() {
        assert!(super::svg(&"x".repeat(5000)).is_none());
    }
}
