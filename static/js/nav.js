// Narrow screens: the study navigation folds behind a Menu button. Without JavaScript the links
// simply wrap, all visible.
(() => {
  const nav = document.querySelector(".study-nav");
  const button = document.querySelector(".nav-toggle");
  if (!nav || !button) return;
  document.documentElement.classList.add("js-nav");
  button.hidden = false;
  button.addEventListener("click", () => {
    const open = nav.classList.toggle("open");
    button.setAttribute("aria-expanded", String(open));
  });
})();
