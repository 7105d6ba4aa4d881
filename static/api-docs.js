// Starts Swagger UI on /api/docs. The schema's address comes from the page, so the
// script holds no paths of its own; validatorUrl null keeps it from calling
// validator.swagger.io (the product works offline).
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") { return; }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    validatorUrl: null,
    deepLinking: true,
    persistAuthorization: false,
    tryItOutEnabled: false,
  });
});
