// The fast directive form: the person list holds only the people of the chosen owner unit and is refilled from
// the server when the owner changes (no page reload); a person still in the new list stays chosen.
(function () {
  "use strict";
  var form = document.getElementById("directive-form");
  if (!form) return;
  var owner = form.querySelector('select[name="owner_unit"]');
  var person = form.querySelector('select[name="owner_person"]');
  if (!owner || !person) return;
  var asked = 0;
  owner.addEventListener("change", function () {
    var ticket = ++asked, chosen = person.value;
    var url = form.getAttribute("data-people-url") + "?unit=" + encodeURIComponent(owner.value);
    person.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { people: [] }; })
      .then(function (data) {
        if (ticket !== asked) return;  // an answer for an owner no longer chosen
        while (person.options.length > 1) person.remove(1);
        data.people.forEach(function (p) {
          var option = new Option(p.label, p.employee_no, false, p.employee_no === chosen);
          person.add(option);
        });
        if (person.value !== chosen) person.value = "";
      })
      .catch(function () { /* the list stays as it was; the server checks the person anyway */ })
      .finally(function () { if (ticket === asked) person.removeAttribute("aria-busy"); });
  });
})();
