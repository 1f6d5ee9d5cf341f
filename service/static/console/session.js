// session.js — who the console is: the login form, login links (#key=…, taken out of the address
// bar before anything else, in a fresh tab or one already open), switching tenant only when the
// user says so, logging out, and the key's role (a viewer's console offers no action).
import { login, logout, whoAmI } from "../jobs-client.js";
import { $ } from "./dom.js";

// The tenant this browser's console shows: when a tab changes it, the others start over.
const TENANT_KEY = "console.tenant";

export const session = { tenant: "", role: "", shown: false };
let showApp = async () => {};
let promptDone = null; // the open prompt's end (a newer link replaces it)

/** Another tenant's session from now on: load the page again with nothing of the old one (no view
 * in the address, nothing in memory; remembered workspaces are per tenant). */
function startClean() {
  history.replaceState(null, "", window.location.pathname);
  window.location.reload();
}

/** A login link's key, taken out of the address bar and out of its history entry before anything
 * else happens; the fragment never reaches a server. */
function takeLinkKey() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const key = fragment.get("key");
  if (!key) return "";
  fragment.delete("key");
  const rest = fragment.toString();
  history.replaceState(null, "", window.location.pathname + window.location.search + (rest ? `#${rest}` : ""));
  return key;
}

async function showSession() {
  const { data } = await whoAmI();
  session.tenant = data.tenant;
  session.role = data.role || "member";
  localStorage.setItem(TENANT_KEY, data.tenant);
  $("#tenant").textContent = `Tenant ${data.tenant}${session.role === "viewer" ? " (read only)" : ""}`;
  document.body.dataset.role = session.role;
  $("#who").hidden = false;
}

/** The console of the session's tenant, or the login form when there is no session. */
async function enter() {
  try {
    await showSession();
  } catch {
    $("#login").hidden = false;
    $("#fleet").textContent = "Not logged in";
    return;
  }
  if (!session.shown) {
    session.shown = true;
    await showApp();
  }
}

/** Log in with a key (a link's, or the form's). A live session of another tenant is never replaced
 * without asking: the server refuses (409) and names both tenants, and the user chooses. */
async function useKey(key, { fromLink = true } = {}) {
  $("#link-error").textContent = "";
  try {
    const { data } = await login(key);
    // This page showed another tenant's, or the same tenant with another role: start over.
    if (session.tenant && (data.tenant !== session.tenant || (data.role || "member") !== session.role)) {
      localStorage.setItem(TENANT_KEY, data.tenant);
      startClean();
    }
  } catch (error) {
    const failure = error.response && error.response.data && error.response.data.error;
    // The console of the live session shows behind the question (never "Checking workers…" while
    // it waits for an answer).
    if (failure && failure.code === "session_conflict") {
      askToSwitch(key, failure.tenant, failure.current_tenant);
      return;
    }
    const where = session.shown ? "#link-error" : "#login-error";
    $(where).textContent = fromLink ? `⚠ That login link did not work: ${error.message}` : `⚠ ${error.message}`;
  }
}

/** "This link logs you in as tenant B. You are logged in as tenant A." Switch, or stay: nothing
 * changes until the user says so. The key stays in this closure only. */
function askToSwitch(key, tenant, current) {
  if (promptDone) promptDone.abort();
  const done = new AbortController();
  promptDone = done;
  const dialog = $("#link-prompt");
  $("#link-prompt-text").textContent = `This link logs you in as tenant ${tenant}. You are logged in as tenant ${current}.`;
  $("#link-prompt-error").textContent = "";
  $("#link-switch").textContent = `Switch to ${tenant}`;
  $("#link-stay").textContent = `Stay as ${current}`;
  $("#link-switch").disabled = false;
  const on = (target, type, handler) => target.addEventListener(type, handler, { signal: done.signal });
  const stay = () => { done.abort(); if (dialog.open) dialog.close(); };
  on($("#link-stay"), "click", stay);
  on(dialog, "cancel", stay); // Escape
  on($("#link-switch"), "click", async () => {
    $("#link-switch").disabled = true;
    try {
      await login(key, { replace: true });
      localStorage.setItem(TENANT_KEY, tenant); // the other tabs start over now, not after this one's reload
      startClean();
    } catch (error) {
      $("#link-prompt-error").textContent = `⚠ ${error.message}`;
      $("#link-switch").disabled = false; // a 503 passes; a revoked key says so again
    }
  });
  if (!dialog.open) dialog.showModal();
}

/** A login link pasted into this tab (the address changed only after its `#`): its key is used
 * before anything else; true when there was one (the address no longer holds it). */
export async function takeLinkIn() {
  const key = takeLinkKey();
  if (!key) return false;
  await useKey(key);
  await enter();
  return true;
}

/** Start: a link's key first, then the console of the session (or the login form). `show()`
 * draws the console once the session is known. */
export async function boot({ show }) {
  showApp = show;
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("#login-error").textContent = "";
    const key = $("#key").value.trim();
    $("#key").value = "";
    await useKey(key, { fromLink: false });
    if (!session.shown) enter();
  });
  $("#logout").addEventListener("click", async () => {
    await logout();
    localStorage.removeItem(TENANT_KEY); // the console's other tabs start over too
    startClean();
  });
  window.addEventListener("storage", (event) => {
    // Another tab logged out or switched tenant: what this one shows is the old tenant's.
    if (event.key === TENANT_KEY && session.tenant && event.newValue !== session.tenant) startClean();
  });
  if (!(await takeLinkIn())) await enter();
}
