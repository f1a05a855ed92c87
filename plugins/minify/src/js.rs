//! JavaScript minification with oxc (parser, minifier with its safest compression, codegen).
use oxc_allocator::Allocator;
use oxc_codegen::{Codegen, CodegenOptions};
use oxc_minifier::{CompressOptions, MangleOptions, Minifier, MinifierOptions};
use oxc_parser::Parser;
use oxc_span::SourceType;

/// Minifies a script (or, if it only parses as one, an ES module); an error when it parses as
/// neither (the original is then served). Top-level names are never renamed.
pub fn minify(js: &str) -> Result<Vec<u8>, String> {
    let allocator = Allocator::default();
    let mut parsed = Parser::new(&allocator, js, SourceType::cjs()).parse();
    if !parsed.errors.is_empty() {
        parsed = Parser::new(&allocator, js, SourceType::mjs()).parse();
    }
    if let Some(error) = parsed.errors.first() {
        return Err(error.to_string());
    }
    let mut program = parsed.program;
    let minified = Minifier::new(MinifierOptions {
        mangle: Some(MangleOptions::default()),
        compress: Some(CompressOptions::safest()),
    })
    .minify(&allocator, &mut program);
    let code = Codegen::new()
        .with_options(CodegenOptions {
            minify: true,
            ..CodegenOptions::default()
        })
        .with_scoping(minified.scoping)
        .with_private_member_mappings(minified.class_private_mappings)
        .build(&program)
        .code;
    Ok(code.into_bytes())
}
