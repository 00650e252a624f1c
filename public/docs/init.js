// The reference page of /openapi.json, everything served from this Worker.
// Options: https://github.com/swagger-api/swagger-ui/blob/master/docs/usage/configuration.md
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
  // Off: the validator badge would send the document to an online validator.
  validatorUrl: null,
});
