// Starts the vendored Swagger UI on the API docs page; the session's CSRF token goes with
// every request the page sends, so "Try it out" works while logged in.
(function () {
  "use strict";
  const body = document.body;
  window.SwaggerUIBundle({
    url: body.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    requestInterceptor: function (request) {
      request.headers["X-CSRFToken"] = body.dataset.csrfToken;
      return request;
    },
  });
})();
