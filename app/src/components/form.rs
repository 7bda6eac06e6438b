//! Form fields that show their own error, and the alert that shows the rest.

use leptos::prelude::*;

use crate::error::AppError;

/// The error message for `name`, from an action's last result.
pub fn field_error<T, S>(value: S, name: &'static str) -> Signal<Option<String>>
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || match value.get() {
        Some(Err(error)) => error.for_field(name),
        _ => None,
    })
}

fn input_id(name: &str) -> String {
    format!("field-{name}")
}

/// `aria-describedby` for a field's input: its hint, and its error while there is one.
fn described_by(
    name: &'static str,
    hint: &'static str,
    error: Signal<Option<String>>,
) -> impl Fn() -> Option<String> + Send + Sync + Clone + 'static {
    move || {
        let mut ids = Vec::new();
        if !hint.is_empty() {
            ids.push(format!("{}-hint", input_id(name)));
        }
        if error.get().is_some() {
            ids.push(format!("{}-error", input_id(name)));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

/// The label, hint and error around one input (`children`), with the ids the input's
/// `aria-describedby` names.
#[component]
fn FieldFrame(
    label: &'static str,
    name: &'static str,
    hint: &'static str,
    error: Signal<Option<String>>,
    children: Children,
) -> impl IntoView {
    let id = input_id(name);
    view! {
        <div class="field" class:field-invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            {(!hint.is_empty()).then(|| view! { <p class="hint" id=format!("{id}-hint")>{hint}</p> })}
            {children()}
            <p class="field-error" id=format!("{id}-error") role="alert">
                {move || error.get()}
            </p>
        </div>
    }
}

#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional)] readonly: bool,
    #[prop(into, default = Signal::derive(|| None))] error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <FieldFrame label name hint error>
            <input
                id=input_id(name)
                name=name
                type=input_type
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                value=value
                readonly=readonly
                required=!readonly
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=described_by(name, hint, error)
            />
        </FieldFrame>
    }
}

/// A password input with a Show/Hide button (it only works once the page has hydrated).
#[component]
pub fn PasswordField(
    label: &'static str,
    name: &'static str,
    autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(into, default = Signal::derive(|| None))] error: Signal<Option<String>>,
) -> impl IntoView {
    let shown = RwSignal::new(false);
    view! {
        <FieldFrame label name hint error>
            <div class="password-row">
                <input
                    id=input_id(name)
                    name=name
                    type=move || if shown.get() { "text" } else { "password" }
                    autocomplete=autocomplete
                    required=true
                    aria-invalid=move || error.get().is_some().then_some("true")
                    aria-describedby=described_by(name, hint, error)
                />
                <button
                    type="button"
                    class="button-quiet"
                    aria-controls=input_id(name)
                    aria-pressed=move || if shown.get() { "true" } else { "false" }
                    on:click=move |_| shown.update(|s| *s = !*s)
                >
                    {move || if shown.get() { "Hide" } else { "Show" }}
                </button>
            </div>
        </FieldFrame>
    }
}

/// The form-level error of an action's last result (field errors sit by their fields).
#[component]
pub fn FormAlert<T, S>(value: S) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || match value.get() {
        Some(Err(error)) if !error.has_field() => {
            Some(view! { <Alert kind="error">{error.to_string()}</Alert> })
        }
        _ => None,
    }
}

#[component]
pub fn Alert(#[prop(default = "info")] kind: &'static str, children: Children) -> impl IntoView {
    let role = if kind == "error" { "alert" } else { "status" };
    view! { <div class=format!("alert alert-{kind}") role=role>{children()}</div> }
}

#[component]
pub fn SubmitButton(
    label: &'static str,
    busy_label: &'static str,
    #[prop(into)] pending: Signal<bool>,
    #[prop(default = "button-primary")] class: &'static str,
) -> impl IntoView {
    view! {
        <button type="submit" class=class disabled=move || pending.get() aria-busy=move || pending.get().then_some("true")>
            {move || if pending.get() { busy_label } else { label }}
        </button>
    }
}
