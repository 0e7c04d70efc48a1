// Progressive enhancement for the joinedup pages. Every page works
// without this script.
import { initAll } from "/static/vendor/govuk-frontend/govuk-frontend.min.js";

// A browser that runs this module supports ES modules. The class
// "govuk-frontend-supported" marks that support for GOV.UK Frontend.
document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// Tracking pages reload their table of services every refreshSeconds
// until every service has finished.
const refreshSeconds = 10;

for (const region of document.querySelectorAll('[data-module="joinedup-refresh"]')) {
  refresh(region);
}

function refresh(region) {
  if (region.dataset.complete === "true") {
    return;
  }
  const status = region.querySelector("[data-refresh-status]");
  const timer = setInterval(async () => {
    try {
      const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
      if (!response.ok) {
        return;
      }
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById(region.id);
      if (!fresh) {
        return;
      }
      region.querySelector("table").replaceWith(fresh.querySelector("table"));
      region.dataset.complete = fresh.dataset.complete;
      if (status) {
        status.textContent = "Updated at " + new Date().toLocaleTimeString("en-GB", { timeZone: "Europe/London", hour: "2-digit", minute: "2-digit" }) + ".";
      }
      if (region.dataset.complete === "true") {
        clearInterval(timer);
      }
    } catch {
      // A failed refresh leaves the table as it was, and the next tick
      // tries again.
    }
  }, refreshSeconds * 1000);
}
