//! Accounts in the sidebar: sign up, log in and log out, with the server functions behind them
//! (`POST /api/auth/signup`, `/api/auth/login` with `{"email","password"}` as JSON,
//! `/api/auth/logout`). They set or clear the session cookie; the page reloads afterwards so
//! that the conversation list and the limits are the account's.
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::types::AccountView;

#[cfg(feature = "ssr")]
use crate::backend::failed;

#[cfg(feature = "ssr")]
fn set_cookie(value: &str) {
    if let (Some(response), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::HeaderValue::from_str(value),
    ) {
        response.append_header(axum::http::header::SET_COOKIE, value);
    }
}

#[server(endpoint = "auth/signup", input = Json)]
pub async fn sign_up(email: String, password: String) -> Result<AccountView, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    let signed_in = backend
        .sign_up(viewer, email, password)
        .await
        .map_err(failed)?;
    set_cookie(&signed_in.set_cookie);
    Ok(signed_in.account)
}

#[server(endpoint = "auth/login", input = Json)]
pub async fn log_in(email: String, password: String) -> Result<AccountView, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    let signed_in = backend
        .log_in(viewer, email, password)
        .await
        .map_err(failed)?;
    set_cookie(&signed_in.set_cookie);
    Ok(signed_in.account)
}

#[server(endpoint = "auth/logout", input = Json)]
pub async fn log_out() -> Result<(), ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    let cookie = backend.log_out(viewer).await.map_err(failed)?;
    set_cookie(&cookie);
    Ok(())
}

#[server(endpoint = "auth/me")]
pub async fn current_account() -> Result<Option<AccountView>, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    backend.account(viewer).await.map_err(failed)
}

fn reload() {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().reload();
    }
}

/// Who is signed in, with log out; or the log-in / sign-up form.
#[component]
pub fn AccountPanel() -> impl IntoView {
    let account = Resource::new(|| (), |_| current_account());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = Action::new(move |signup: &bool| {
        let (signup, e, p) = (*signup, email.get_untracked(), password.get_untracked());
        async move {
            let result = if signup {
                sign_up(e, p).await
            } else {
                log_in(e, p).await
            };
            match result {
                Ok(_) => reload(),
                Err(e) => error.set(Some(server_message(e))),
            }
        }
    });
    let leave = Action::new(move |_: &()| async move {
        if log_out().await.is_ok() {
            reload();
        }
    });
    view! {
        <section id="account" class="border-t border-slate-200 p-3 text-sm dark:border-slate-700">
            <Suspense fallback=|| ()>
                {move || account.get().map(|a| match a.ok().flatten() {
                    Some(a) => view! {
                        <div class="flex items-center justify-between gap-2" data-signed-in="true">
                            <span class="truncate" title=a.email.clone()>{a.email.clone()}</span>
                            <span class="rounded bg-slate-100 px-1.5 text-xs dark:bg-slate-800" data-tier=a.tier.as_str()>{a.tier.as_str()}</span>
                            <button id="log-out" type="button" class="text-xs underline"
                                on:click=move |_| { leave.dispatch(()); }>"Log out"</button>
                        </div>
                    }.into_any(),
                    None => view! {
                        <form class="flex flex-col gap-1.5" data-signed-in="false"
                            on:submit=move |ev| { ev.prevent_default(); submit.dispatch(false); }>
                            <p class="text-xs text-slate-600 dark:text-slate-400">"Sign in for a higher limit."</p>
                            <label for="account-email" class="text-xs font-medium">"Email"</label>
                            <input id="account-email" type="email" autocomplete="email" placeholder="Email" required
                                class="rounded border border-slate-300 bg-transparent px-2 py-1 dark:border-slate-600"
                                prop:value=move || email.get()
                                on:input=move |ev| email.set(event_target_value(&ev)) />
                            <label for="account-password" class="text-xs font-medium">"Password"</label>
                            <input id="account-password" type="password" autocomplete="current-password" placeholder="Password (8+ characters)" required
                                class="rounded border border-slate-300 bg-transparent px-2 py-1 dark:border-slate-600"
                                prop:value=move || password.get()
                                on:input=move |ev| password.set(event_target_value(&ev)) />
                            <div class="flex gap-2">
                                <button id="log-in" type="submit" class="rounded bg-emerald-700 px-2 py-1 text-white">"Log in"</button>
                                <button id="sign-up" type="button" class="rounded border border-slate-300 px-2 py-1 dark:border-slate-600"
                                    on:click=move |_| { submit.dispatch(true); }>"Sign up"</button>
                            </div>
                            <Show when=move || error.get().is_some()>
                                <p id="account-error" role="alert" class="text-xs text-red-700 dark:text-red-400">{move || error.get().unwrap_or_default()}</p>
                            </Show>
                        </form>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The message of a server function error, without the framework's prefix.
pub(crate) fn server_message(e: ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m,
        other => other.to_string(),
    }
}
