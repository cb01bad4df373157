"""The form layer: JSON Schema forms -> expanded schema, validation, HTML and submission parsing.

Pure functions (no Flask request, no database) shared by the services, the web views and the API::

    schema = expand(load_form(version_forms, "review.json"), context)
    data = parse_submission(schema, request.form)          # or the API's JSON body
    data, errors = strip_readonly(schema, data), validate(schema, data)
    html = render(schema, data, errors, context)
"""

from .html import format_number, parse_submission, render
from .instructions import render_instructions
from .schema import FormError, context_keys, enum_options, expand, field_name, forms_from_directory, load_form
from .validate import FieldError, clean, errors_by_field, strip_readonly, validate

__all__ = [
    "expand",
    "context_keys",
    "load_form",
    "validate",
    "FieldError",
    "strip_readonly",
    "parse_submission",
    "render",
    "FormError",
    "clean",
    "errors_by_field",
    "forms_from_directory",
    "field_name",
    "enum_options",
    "format_number",
    "render_instructions",
]
