// The new-study form: fill the slug from the name until the person edits the slug themselves.
const nameInput = document.getElementById("id_name");
const slugInput = document.getElementById("id_slug");

function slugify(text) {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9\s-]/g, "")
    .trim()
    .replace(/[\s-]+/g, "-")
    .slice(0, Number(slugInput.maxLength) > 0 ? Number(slugInput.maxLength) : 60)
    .replace(/-+$/, "");
}

if (nameInput && slugInput) {
  let edited = slugInput.value !== "" && slugInput.value !== slugify(nameInput.value);
  nameInput.addEventListener("input", () => {
    if (!edited) slugInput.value = slugify(nameInput.value);
  });
  slugInput.addEventListener("input", () => {
    edited = slugInput.value !== "";
  });
}
