// "Copy link" buttons: copy the text of the input named by data-copy and say so on the button.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  if (!input) return;
  input.select();
  const done = () => {
    button.textContent = "Copied";
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, () => {
      button.textContent = "Press Ctrl+C to copy";
    });
  } else {
    button.textContent = "Selected: press Ctrl+C";
  }
});
