// Upload progress for evidence forms: htmx reports XHR progress; hx-on is not allowed under the CSP.
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest && event.target.closest(".portal-upload-form");
  var bar = form && form.querySelector(".portal-upload-progress");
  if (!bar || !event.detail.lengthComputable) return;
  var percent = Math.round((event.detail.loaded / event.detail.total) * 100);
  bar.hidden = false;
  bar.value = percent;
  bar.textContent = percent + "%";
});
