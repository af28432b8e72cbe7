# ruff: noqa: RUF001 -- names and sentences are in their own scripts (Turkish, Greek, Cyrillic)
"""Held-out data for bench/sanitize_names.py: personal names of the partnership's languages in
running sentences, and threat-intel prose that names no person.

Written by hand for this evaluation, from no name list: the sanitiser's dictionaries (the
`gender-guesser` first names) never saw these sentences, and nothing here is read by the
sanitiser. Thirty full names per language; Greek and Bulgarian half in their own script, half
transliterated; Hungarian half in the Hungarian order (family name first).
"""

from __future__ import annotations

# language -> "; "-separated full names
NAMES: dict[str, str] = {
    "en": """Oliver Bennett; Charlotte Hughes; James O'Neill; Siobhan Murphy; Emily Clarke;
        Daniel Whitfield; Rebecca Thornton; Michael J. Harrington; Sarah-Jane Cooper;
        Liam Gallagher; Hannah Fletcher; Christopher Dawson; Aoife Kennedy; Matthew Pritchard;
        Laura McAllister; Gareth Llewellyn; Fiona MacLeod; Jonathan Reeves; Olivia Barnes;
        Patrick Donnelly; Katherine Ashworth; Ryan Sutherland; Megan Holloway; Thomas Kingsley;
        Eleanor Whitmore; Benjamin Carter; Chloe Atkinson; Nathan Brooks; Victoria Pembroke;
        Samuel Ogden""",
    "fr": """Jean-Baptiste Lefèvre; Amélie Rousseau; François Dubois; Camille Girard;
        Nicolas Moreau; Élodie Fontaine; Pierre-Yves Le Goff; Sophie Marchand; Thierry Lambert;
        Céline Bertrand; Guillaume Chevalier; Manon Leclerc; Sébastien Gauthier; Aurélie Mercier;
        Olivier Perrin; Isabelle Faure; Julien Roussel; Margaux Blanchard; Antoine Durand;
        Chloé Dupuis; Mathieu Barbier; Hélène Lacroix; Benoît Renaud; Laetitia Vidal;
        Yannick Le Roux; Nathalie Caron; Arnaud Giraud; Sandrine Colin; Maxime Fournier;
        Anne-Sophie Picard""",
    "de": """Jürgen Schäfer; Anna-Lena Weiß; Karl-Heinz Becker; Sabine Hoffmann; Matthias Wagner;
        Katharina Schröder; Stefan Zimmermann; Ulrike Krüger; Tobias Hartmann; Franziska Lehmann;
        Wolfgang Schulze; Lena Fischer; Dieter Braun; Birgit Vogel; Florian Keller; Heike Neumann;
        Markus Schwarz; Jana Hofmann; Günther Wolf; Sandra Köhler; Christoph Bauer;
        Ingrid Lorenz; Sebastian Richter; Monika Seidel; Uwe Schmitt; Johanna von Arnim;
        Maximilian Huber; Petra Kaiser; Andreas Fuchs; Claudia Meißner""",
    "es": """María José Fernández; Javier Martínez López; Lucía Sánchez; Alejandro Gómez;
        Carmen Ruiz; Pablo Hernández; Isabel Moreno; Sergio Jiménez; Elena Álvarez;
        Daniel Romero Navarro; Marta Torres; Iñaki Etxeberria; Laura Domínguez; Raúl Vázquez;
        Cristina Ramos; Jorge Gil; Nuria Serrano; Álvaro Blanco; Rocío Molina;
        Francisco Javier Ortega; Beatriz Delgado; Andrés Castro; Pilar Ortiz; Rubén Rubio;
        Silvia Marín; Fernando Sanz; Ainhoa Iglesias; Diego Núñez; Montserrat Puig;
        Maria Garcia""",
    "it": """Giuseppe Esposito; Chiara D'Angelo; Marco Bianchi; Francesca Romano;
        Alessandro Colombo; Giulia Ricci; Luca Marino; Federica Greco; Matteo Bruno;
        Valentina Gallo; Andrea Conti; Silvia Costa; Davide Fontana; Elisa Moretti;
        Stefano Barbieri; Roberta Lombardi; Paolo De Luca; Martina Mancini; Simone Rinaldi;
        Alessia Caruso; Lorenzo Ferrara; Ilaria Santoro; Fabio Leone; Serena Longo;
        Riccardo Galli; Beatrice Martinelli; Gianluca Vitale; Sara Cattaneo; Pier Luigi Ferri;
        Antonella Rizzo""",
    "pt": """João Pedro Gonçalves; Ana Rita Ferreira; Tiago Rodrigues; Inês Carvalho;
        Miguel Sousa; Beatriz Pereira; Rui Almeida; Catarina Lopes; Nuno Martins;
        Mariana Oliveira; Pedro Costa; Sofia Ribeiro; Ricardo Pinto; Joana Fernandes;
        André Marques; Marta Gomes; Bruno Teixeira; Carla Moreira; Diogo Correia;
        Patrícia Mendes; Hugo Nunes; Filipa Soares; Luís Vieira; Raquel Monteiro;
        Gonçalo Cardoso; Teresa Rocha; Vasco Dias; Leonor Fonseca; Maria da Conceição Silva;
        Paulo Jorge Antunes""",
    "nl": """Pieter van den Berg; Sanne de Vries; Johannes ter Horst; Femke Jansen; Thijs Bakker;
        Lotte Visser; Bram Smit; Anouk Meijer; Daan de Boer; Eva Mulder; Jeroen de Groot;
        Marieke Bos; Sven Vos; Iris Peters; Ruben Hendriks; Lieke van Dijk; Gijs van Leeuwen;
        Mirjam Dekker; Koen Brouwer; Esther de Wit; Niels Dijkstra; Floor Smits;
        Wouter de Graaf; Ilse van der Meer; Maarten van der Linden; Joost Kok;
        Annelies Jacobs; Bart Willems; Kees Schouten; Marloes van Beek""",
    "pl": """Jan Kowalski; Anna Nowak; Piotr Wiśniewski; Małgorzata Wójcik; Krzysztof Kowalczyk;
        Agnieszka Kamińska; Tomasz Lewandowski; Katarzyna Zielińska; Paweł Szymański;
        Magdalena Woźniak; Michał Dąbrowski; Joanna Kozłowska; Marcin Jankowski; Ewa Mazur;
        Łukasz Kwiatkowski; Aleksandra Krawczyk; Grzegorz Piotrowski; Monika Grabowska;
        Marek Nowakowski; Dorota Pawłowska; Jakub Michalski; Beata Zając; Wojciech Król;
        Justyna Wieczorek; Rafał Jabłoński; Iwona Wróbel; Dariusz Majewski; Natalia Olszewska;
        Bartłomiej Stępień; Zofia Górecka""",
    "cs": """Jiří Dvořák; Tereza Nováková; Petr Černý; Jana Svobodová; Tomáš Procházka;
        Lucie Kučerová; Martin Veselý; Eva Horáková; Jakub Němec; Kateřina Marková;
        Lukáš Pokorný; Veronika Pospíšilová; Ondřej Hájek; Markéta Králová; Pavel Jelínek;
        Barbora Růžičková; Jan Beneš; Michaela Fialová; David Sedláček; Zuzana Doležalová;
        Vojtěch Zeman; Hana Kolářová; Radek Navrátil; Alena Čermáková; Miroslav Urban;
        Klára Vaňková; Josef Blažek; Lenka Křížová; Vítězslav Kopecký; Šárka Konečná""",
    "sk": """Ján Horváth; Zuzana Kováčová; Peter Varga; Martina Tóthová; Michal Nagy;
        Lucia Balážová; Marek Szabó; Katarína Molnárová; Juraj Lukáč; Monika Kráľová;
        Tomáš Kollár; Andrea Benková; Matej Oravec; Simona Hudáková; Róbert Šimko;
        Jana Kučeráková; Miroslav Gajdoš; Ivana Mináriková; Ľubomír Polák; Eva Krajčírová;
        Dušan Ďurica; Veronika Hrušovská; Rastislav Švec; Silvia Kmeťová; Branislav Bartoš;
        Lenka Žiaková; Vladimír Šebo; Barbora Kocúrová; Patrik Hlinka; Adriana Ševčíková""",
    "ro": """Andrei Popescu; Ioana Constantinescu; Mihai Ștefănescu; Elena Dumitrescu;
        Alexandru Ionescu; Maria Georgescu; Cristian Stan; Ana-Maria Munteanu; Bogdan Radu;
        Raluca Diaconu; Gabriel Niculescu; Andreea Marinescu; Florin Dragomir; Simona Tudor;
        Vlad Moldovan; Diana Mocanu; Radu Ciobanu; Alina Gheorghiu; Adrian Lungu; Oana Stoica;
        Ionuț Matei; Mihaela Barbu; Sorin Neagu; Loredana Zamfir; Cătălin Dobre; Irina Toma;
        Ștefan Voicu; Roxana Preda; Dan Enache; Larisa Bălan""",
    "da": """Mette Kjær; Rasmus Højgaard; Søren Nielsen; Camilla Jørgensen; Mads Pedersen;
        Line Rasmussen; Jesper Andersen; Sofie Christensen; Anders Mikkelsen; Louise Madsen;
        Frederik Thomsen; Ida Kristensen; Kasper Olsen; Maja Poulsen; Henrik Sørensen;
        Signe Lauridsen; Niels Bech; Trine Dalgaard; Morten Vestergaard; Pernille Holm;
        Jens Østergaard; Birgitte Lund; Thomas Bruun; Karina Winther; Lars Kjærgaard;
        Mikkel Damgaard; Charlotte Bjerre; Torben Skov; Anne Mette Friis; Emil Søndergaard""",
    "sv": """Anders Lindqvist; Åsa Bergström; Erik Johansson; Karin Andersson; Lars Nilsson;
        Maria Eriksson; Johan Larsson; Eva Olsson; Per Persson; Ingrid Svensson;
        Mikael Gustafsson; Sara Pettersson; Henrik Jonsson; Linnea Lindberg; Fredrik Lindström;
        Emma Axelsson; Björn Holmberg; Malin Sandberg; Gustav Engström; Ebba Nordin;
        Oskar Sjöberg; Kristina Lundqvist; Magnus Forsberg; Elin Hedlund; Jonas Wallin;
        Frida Ekström; Patrik Sundberg; Helena Björk; Nils Åberg; Astrid Löfgren""",
    "no": """Ola Haugen; Kari Nordmann; Ole Hansen; Ingrid Johansen; Per Olsen; Marit Larsen;
        Knut Andersen; Silje Pedersen; Håkon Berg; Ragnhild Halvorsen; Espen Solberg;
        Hilde Bakken; Eirik Moen; Tone Lie; Sindre Strand; Kristin Dahl; Jon Eriksen;
        Anette Jacobsen; Øystein Haugland; Solveig Kristiansen; Geir Fjeld; Vibeke Nygård;
        Trond Aasen; Ingvild Sæther; Bjørn Rønning; Guro Myklebust; Magne Aune; Liv Tveit;
        Arne Brekke; Synnøve Lunde""",
    "fi": """Mikko Virtanen; Aino Korhonen; Juha Mäkinen; Laura Nieminen; Timo Hämäläinen;
        Johanna Laine; Jari Heikkinen; Sanna Koskinen; Antti Järvinen; Elina Lehtonen;
        Pekka Lehtinen; Katja Saarinen; Jukka Salminen; Riikka Heinonen; Ville Niemi;
        Hanna Kinnunen; Markku Turunen; Tiina Salonen; Ilkka Tuominen; Minna Rantanen;
        Eero Karjalainen; Päivi Jokinen; Sami Lahtinen; Outi Hiltunen; Janne Manninen;
        Satu Peltonen; Kari Räsänen; Noora Ahonen; Tuomas Väisänen; Heli Pesonen""",
    "is": """Guðrún Jónsdóttir; Sigurður Þórsson; Jón Guðmundsson; Anna Sigurðardóttir;
        Ólafur Magnússon; Kristín Einarsdóttir; Gunnar Stefánsson; Helga Kristjánsdóttir;
        Einar Björnsson; Sigríður Ólafsdóttir; Björn Sigurðsson; Margrét Jóhannsdóttir;
        Magnús Pétursson; Katrín Gunnarsdóttir; Stefán Halldórsson; Ragnheiður Árnadóttir;
        Þórður Ragnarsson; Hildur Þorsteinsdóttir; Pétur Sveinsson; Ingibjörg Haraldsdóttir;
        Árni Kristinsson; Elín Baldursdóttir; Haraldur Gíslason; Steinunn Egilsdóttir;
        Bjarni Friðriksson; Sólveig Hauksdóttir; Hörður Valsson; Auður Snorradóttir;
        Kjartan Ágústsson; Þóra Davíðsdóttir""",
    "et": """Kaido Tamm; Liis Saar; Mart Kask; Kadri Sepp; Andres Mägi; Tiina Mets; Jaan Kukk;
        Kristiina Rebane; Priit Ilves; Maarja Pärn; Toomas Koppel; Anneli Lepp; Rein Kuusk;
        Triin Raudsepp; Margus Kõiv; Helen Oja; Urmas Lepik; Kertu Vaher; Indrek Teder;
        Pille Luik; Tõnu Laur; Signe Kivi; Marek Sild; Eve Org; Tarmo Põder; Merike Aas;
        Siim Vares; Liina Tuisk; Janek Rand; Ülle Käär""",
    "lv": """Jānis Bērziņš; Ilze Kalniņa; Andris Ozols; Inese Liepiņa; Mārtiņš Krūmiņš;
        Laura Zariņa; Edgars Balodis; Kristīne Ozoliņa; Aivars Vītols; Dace Jansone;
        Raimonds Pētersons; Anna Kļaviņa; Guntis Lācis; Sanita Āboliņa; Valdis Eglītis;
        Zane Strazdiņa; Artūrs Ziediņš; Līga Siliņa; Uldis Zvaigzne; Baiba Vanaga;
        Kaspars Avotiņš; Ieva Bērziņa; Normunds Kalējs; Elīna Cīrule; Dainis Apinis;
        Agnese Rozīte; Gatis Purviņš; Santa Grīnberga; Roberts Zālītis; Māra Jēkabsone""",
    "lt": """Tomas Kazlauskas; Rūta Petrauskienė; Mindaugas Jankauskas; Jurgita Stankevičienė;
        Darius Vasiliauskas; Eglė Žukauskaitė; Paulius Butkus; Indrė Paulauskaitė;
        Vytautas Urbonas; Aušra Kavaliauskienė; Andrius Navickas; Lina Ramanauskienė;
        Marius Pocius; Giedrė Balčiūnaitė; Rimantas Žemaitis; Jolanta Adomaitienė; Tadas Grigas;
        Asta Mockutė; Saulius Sadauskas; Vaida Lukoševičiūtė; Kęstutis Bielskis; Ieva Šimkutė;
        Mantas Valaitis; Laura Gudaitytė; Gintaras Rimkus; Dalia Baranauskienė;
        Linas Černiauskas; Neringa Vaitkutė; Edvinas Juška; Simona Norkutė""",
    "el": """Georgios Papadopoulos; Eleni Konstantinidou; Dimitrios Nikolaidis; Maria Papadaki;
        Konstantinos Georgiou; Katerina Vlachou; Ioannis Christodoulou; Sofia Alexiou;
        Nikolaos Karagiannis; Angeliki Oikonomou; Panagiotis Dimitriou; Vasiliki Antoniou;
        Christos Papanikolaou; Despoina Makri; Evangelos Theodorou;
        Αθανάσιος Σταυρόπουλος; Ευαγγελία Μιχαηλίδου; Σπύρος Λαμπράκης; Αναστασία Κυριακίδου;
        Θανάσης Παππάς; Φωτεινή Ζαχαρίου; Μιχάλης Σπυρόπουλος; Χαρά Τσολάκη;
        Αλέξανδρος Μαυρίδης; Ιωάννα Δημοπούλου; Στέλιος Καλογεράκης; Παρασκευή Ηλιοπούλου;
        Θεόδωρος Μπακάλης; Ειρήνη Σαββίδου; Λευτέρης Βασιλείου""",
    "tr": """Mehmet Yılmaz; Ayşe Kaya; Mustafa Demir; Fatma Şahin; Ahmet Çelik; Emine Yıldız;
        Ali Yıldırım; Zeynep Öztürk; Hüseyin Aydın; Elif Özdemir; Hasan Arslan; Merve Doğan;
        İbrahim Kılıç; Esra Aslan; Murat Çetin; Büşra Kara; Emre Koç; Selin Kurt; Burak Özkan;
        Gizem Şimşek; Serkan Polat; Derya Erdoğan; Cem Güneş; Özlem Aktaş; Kemal Aksoy;
        Tuğba Korkmaz; Onur Bulut; Sibel Karaca; Çağlar Şen; Gökhan Ünal""",
    "hu": """László Nagy; Anna Kovács; István Tóth; Katalin Szabó; Zoltán Horváth; Éva Varga;
        Gábor Kiss; Erzsébet Molnár; Péter Németh; Zsuzsanna Farkas; Attila Balogh;
        Ildikó Papp; Tamás Takács; Krisztina Juhász; Balázs Lakatos;
        Mészáros Ferenc; Oláh Judit; Rácz Csaba; Fekete Andrea; Szilágyi Gergely;
        Török Eszter; Fehér Sándor; Pintér Noémi; Gulyás Imre; Vincze Ágnes; Bognár Levente;
        Hegedűs Orsolya; Kocsis Dániel; Sipos Tímea; Bíró Róbert""",
    "bg": """Georgi Ivanov; Maria Petrova; Dimitar Dimitrov; Elena Georgieva; Nikolay Nikolov;
        Ivanka Stoyanova; Hristo Todorov; Desislava Koleva; Stoyan Angelov;
        Tsvetelina Yordanova; Plamen Hristov; Radostina Marinova; Vasil Atanasov;
        Gergana Popova; Kiril Petkov;
        Тодор Илиев; Виктория Колева; Петър Стефанов; Милена Иванова; Александър Костов;
        Ралица Димитрова; Иван Михайлов; Надежда Василева; Борислав Тодоров; Галина Николова;
        Красимир Йорданов; Даниела Павлова; Любомир Станчев; Теодора Маринова;
        Светослав Христов""",
    "hr": """Ivan Horvat; Ana Kovačević; Marko Babić; Petra Marić; Luka Jurić; Ivana Novak;
        Josip Knežević; Marija Vuković; Tomislav Marković; Martina Petrović; Stjepan Matić;
        Maja Tomić; Davor Pavlović; Lucija Kovačić; Hrvoje Božić; Katarina Blažević;
        Zoran Grgić; Mateja Pavić; Dario Radić; Nikolina Perić; Goran Šarić; Iva Lovrić;
        Krešimir Vidović; Tea Jukić; Dražen Kolar; Mirela Bošnjak; Filip Mandić; Sanja Topić;
        Igor Šimić; Dunja Vlašić""",
    "sl": """Janez Novak; Maja Krajnc; Marko Kovačič; Nina Zupančič; Matej Potočnik; Mojca Kos;
        Luka Vidmar; Špela Golob; Boštjan Turk; Tjaša Kralj; Andrej Božič; Urška Zupan;
        Rok Hribar; Nataša Kavčič; Gregor Rozman; Petra Oblak; Uroš Kastelic; Barbara Žagar;
        Žiga Koren; Tanja Mlakar; Primož Jereb; Katja Breznik; Aleš Pirc; Polona Erjavec;
        Jure Medved; Alenka Zorko; Blaž Lesjak; Metka Rupnik; Miha Dolenc; Vesna Kolenc""",
    "sq": """Arben Hoxha; Elira Kola; Besnik Shehu; Jonida Gjoka; Ilir Krasniqi; Mirela Dervishi;
        Gentian Leka; Anisa Çela; Dritan Basha; Erjona Marku; Fatos Rama; Klodiana Hysa;
        Ardit Gashi; Blerina Xhafa; Edmond Bregu; Ornela Duka; Genci Mema; Valbona Lala;
        Sokol Kuqi; Entela Shkurti; Alban Muça; Rezarta Çuni; Altin Dedja; Eriselda Toska;
        Artan Sula; Migena Brahimi; Gerti Prifti; Albana Zeneli; Olsi Nika; Denada Ymeri""",
}

# Sentences of an incident report in English, as most of the partnership writes them: other
# capitalised words (products, places, teams, weekdays, sentence starts) sit beside each name.
ENGLISH: tuple[str, ...] = (
    "{name} from the finance department opened the invoice attachment in Outlook.",
    "The spear-phishing e-mail was addressed to {name} and two colleagues in Accounts Payable.",
    "According to {name}, the VPN concentrator logs were wiped on Monday night.",
    "On 12 March the helpdesk reset the password of {name} after a Microsoft Teams message.",
    "Cobalt Strike beacons were found on the laptop {name} uses when working from Lisbon.",
    "Later that week {name} noticed unexpected MFA prompts on the Okta dashboard.",
    "Windows Defender flagged the dropper, but {name} had already enabled macros.",
    "The attackers impersonated {name}, head of procurement, in a fake DocuSign request.",
    "We interviewed {name} and the IT Operations team at the Frankfurt office.",
    "Mailbox rules in the account of {name} forwarded every message that mentioned SWIFT.",
    "LockBit affiliates used the credentials of {name} to log in to Citrix NetScaler.",
    "{name} reported the call to the National CERT the same afternoon.",
)

# A few sentences in each language, for the names written in it.
NATIVE: dict[str, tuple[str, ...]] = {
    "en": ENGLISH[:3],
    "fr": (
        "Le courriel d'hameçonnage a été envoyé à {name}, responsable des achats.",
        "Selon {name}, les journaux du pare-feu Fortinet ont été effacés mardi.",
        "{name} a ouvert la pièce jointe piégée depuis le bureau de Lyon.",
    ),
    "de": (
        "Die Phishing-Mail ging an {name} aus der Buchhaltung in Hamburg.",
        "Laut {name} wurde der Exchange Server am Wochenende neu gestartet.",
        "{name} meldete den verdächtigen Anruf sofort dem IT-Sicherheitsteam.",
    ),
    "es": (
        "El correo de phishing iba dirigido a {name}, del departamento de Finanzas.",
        "Según {name}, los registros del servidor VPN fueron borrados el lunes.",
        "{name} abrió el documento adjunto desde la oficina de Sevilla.",
    ),
    "it": (
        "La mail di phishing è stata inviata a {name} dell'ufficio acquisti.",
        "Secondo {name}, i log del firewall Palo Alto sono stati cancellati.",
        "{name} ha aperto l'allegato malevolo dalla sede di Torino.",
    ),
    "pt": (
        "O e-mail de phishing foi enviado para {name}, do departamento financeiro.",
        "Segundo {name}, os registos da VPN foram apagados na segunda-feira.",
        "{name} abriu o anexo malicioso a partir do escritório do Porto.",
    ),
    "nl": (
        "De phishingmail was gericht aan {name} van de afdeling Inkoop.",
        "Volgens {name} zijn de logbestanden van de VPN-server gewist.",
        "{name} opende de bijlage op kantoor in Utrecht.",
    ),
    "pl": (
        "Wiadomość phishingowa trafiła do {name} z działu księgowości.",
        "Według {name} logi serwera VPN zostały usunięte w poniedziałek.",
        "{name} otworzył złośliwy załącznik w biurze w Krakowie.",
    ),
    "cs": (
        "Phishingový e-mail byl adresován {name} z účetního oddělení.",
        "Podle {name} byly záznamy z VPN serveru v pondělí smazány.",
        "{name} otevřel škodlivou přílohu v kanceláři v Brně.",
    ),
    "sk": (
        "Phishingový e-mail dostal {name} z oddelenia financií.",
        "Podľa {name} boli záznamy z VPN servera vymazané v pondelok.",
        "{name} otvoril škodlivú prílohu v kancelárii v Košiciach.",
    ),
    "ro": (
        "E-mailul de phishing a fost trimis către {name}, de la departamentul financiar.",
        "Potrivit lui {name}, jurnalele serverului VPN au fost șterse luni.",
        "{name} a deschis atașamentul malițios de la biroul din Cluj.",
    ),
    "da": (
        "Phishingmailen blev sendt til {name} fra økonomiafdelingen.",
        "Ifølge {name} blev VPN-serverens logfiler slettet mandag.",
        "{name} åbnede den ondsindede vedhæftning på kontoret i Aarhus.",
    ),
    "sv": (
        "Nätfiskemejlet skickades till {name} på ekonomiavdelningen.",
        "Enligt {name} raderades VPN-serverns loggar i måndags.",
        "{name} öppnade den skadliga bilagan på kontoret i Göteborg.",
    ),
    "no": (
        "Phishing-e-posten ble sendt til {name} i økonomiavdelingen.",
        "Ifølge {name} ble loggene på VPN-serveren slettet mandag.",
        "{name} åpnet det ondsinnede vedlegget på kontoret i Bergen.",
    ),
    "fi": (
        "Tietojenkalasteluviesti lähetettiin käyttäjälle {name} taloushallinnosta.",
        "Tietoturvatiimi haastatteli henkilöä {name} maanantaina.",
        "{name} avasi haitallisen liitteen Tampereen toimistolla.",
    ),
    "is": (
        "Vefveiðipósturinn var sendur á {name} í fjármáladeildinni.",
        "Samkvæmt {name} var annálum VPN-þjónsins eytt á mánudag.",
        "{name} opnaði skaðlega viðhengið á skrifstofunni á Akureyri.",
    ),
    "et": (
        "Õngitsuskiri saadeti {name} raamatupidamisosakonnast.",
        "Turvameeskond küsitles {name} esmaspäeval.",
        "{name} avas pahatahtliku manuse Tartu kontoris.",
    ),
    "lv": (
        "Pikšķerēšanas e-pasts tika nosūtīts {name} no finanšu nodaļas.",
        "Drošības komanda pirmdien intervēja {name} par incidentu.",
        "{name} atvēra ļaunprātīgo pielikumu Liepājas birojā.",
    ),
    "lt": (
        "Sukčiavimo laiškas buvo išsiųstas {name} iš finansų skyriaus.",
        "Saugumo komanda pirmadienį apklausė {name} apie incidentą.",
        "{name} atidarė kenkėjišką priedą Kauno biure.",
    ),
    "el": (
        "Το μήνυμα ηλεκτρονικού ψαρέματος στάλθηκε στον/στην {name} του λογιστηρίου.",
        "Σύμφωνα με τον/την {name}, τα αρχεία καταγραφής του VPN διαγράφηκαν τη Δευτέρα.",
        "Ο/Η {name} άνοιξε το κακόβουλο συνημμένο στο γραφείο της Θεσσαλονίκης.",
    ),
    "tr": (
        "Oltalama e-postası muhasebe biriminden {name} adlı çalışana gönderildi.",
        "{name}, VPN sunucusunun kayıtlarının pazartesi silindiğini söyledi.",
        "{name} zararlı eki İzmir ofisinde açtı.",
    ),
    "hu": (
        "Az adathalász levelet {name} kapta meg a pénzügyi osztályon.",
        "{name} szerint a VPN-szerver naplóit hétfőn törölték.",
        "{name} a debreceni irodában nyitotta meg a kártékony mellékletet.",
    ),
    "bg": (
        "Фишинг писмото е изпратено до {name} от счетоводството.",
        "Според {name} записите на VPN сървъра са изтрити в понеделник.",
        "{name} отвори зловредния прикачен файл в офиса в Пловдив.",
    ),
    "hr": (
        "Phishing poruka poslana je osobi {name} iz računovodstva.",
        "Prema riječima osobe {name}, zapisi VPN poslužitelja obrisani su u ponedjeljak.",
        "{name} je otvorio zlonamjerni privitak u uredu u Splitu.",
    ),
    "sl": (
        "Lažno sporočilo je prejel(a) {name} iz računovodstva.",
        "Po besedah osebe {name} so bili dnevniki strežnika VPN izbrisani v ponedeljek.",
        "{name} je odprl(a) zlonamerno prilogo v pisarni v Mariboru.",
    ),
    "sq": (
        "Emaili mashtrues iu dërgua {name} nga departamenti i financave.",
        "Sipas {name}, regjistrat e serverit VPN u fshinë të hënën.",
        "{name} hapi bashkëngjitjen keqdashëse në zyrën e Durrësit.",
    ),
}

# Threat-intel prose in the style of vendor reports: actors, malware, tools, products, places,
# Title Case headings and capitalised sentence starts, and no person at all.
PROSE: tuple[str, ...] = (
    """Executive Summary. In March, Midnight Blizzard (also tracked as APT29, Cozy Bear and
    NOBELIUM) targeted diplomatic entities in Warsaw, Vilnius and Bratislava with lures themed
    as wine-tasting invitations. The ROOTSAW dropper fetched WINELOADER from compromised
    WordPress sites. Microsoft Defender for Endpoint and CrowdStrike Falcon detected the
    side-loaded DLL, but Windows Defender did not on unmanaged hosts.""",
    """Initial Access. Scattered Spider operators called the IT Service Desk, posed as
    employees and asked for MFA resets; Okta, Azure AD and Citrix Workspace were then abused
    to reach VMware ESXi hypervisors. ALPHV BlackCat ransomware encrypted the datastores.
    Mandiant tracks the cluster as UNC3944; Palo Alto Networks Unit 42 calls it Muddled Libra.""",
    """Sandworm Team used Industroyer2 and CaddyWiper against a Ukrainian energy provider,
    while Volt Typhoon relied on living-off-the-land binaries such as netsh, wmic and ntdsutil
    to stay hidden in Guam and across the continental United States. Cisco Talos, ESET and
    Dragos published indicators; CISA and the NSA issued a joint advisory.""",
    """Technical Analysis. The loader, a Rust rewrite of Raspberry Robin, drops Agent Tesla
    and Remcos RAT alongside Lumma Stealer. Persistence is achieved through Scheduled Tasks
    named after Google Chrome and Mozilla Firefox updaters. Command and control runs over
    Telegram bots and Cloudflare Workers; fallback domains use the Tor Browser bundle.""",
    """Lazarus Group continued Operation Dream Job, sending fake recruiter messages over
    LinkedIn and WhatsApp to aerospace engineers in Toulouse, Munich and Turin. The trojanised
    PuTTY and KiTTY builds loaded the Gopuram backdoor. Kimsuky and Andariel shared
    infrastructure with the campaign, according to AhnLab and Kaspersky GReAT.""",
    """Recommendations. Patch Ivanti Connect Secure, Fortinet FortiOS and Atlassian
    Confluence Data Center without delay; disable the Print Spooler on Domain Controllers;
    enable Attack Surface Reduction rules; monitor Active Directory Certificate Services for
    ESC1 abuse. Cobalt Strike, Brute Ratel and Sliver beacons remain the most common
    post-exploitation frameworks seen by the Alliance IRC this quarter.""",
    """Charming Kitten, Mint Sandstorm and Pioneer Kitten overlap in infrastructure hosted at
    Hetzner and OVH. Fancy Bear reused Ubiquiti EdgeRouters in Amsterdam and Bucharest as
    proxies. Star Blizzard sent credential-phishing mail that impersonated Proton Drive and
    OneDrive shares; Gamaredon Group pushed Pteranodon via Telegram channels.""",
    """Victimology. Hospitals in Lombardy, municipal utilities in Saxony and a university in
    Leuven reported Black Basta, Akira and Rhysida intrusions. Royal Mail, Maersk and Norsk
    Hydro remain the reference cases for recovery planning. Santa Clara based vendors and
    Saint Petersburg hosting resellers appear in the infrastructure; São Paulo and Costa Rica
    hosts served as relays.""",
    """Detection Opportunities. Hunt for rundll32 loading comsvcs.dll (MiniDump), for
    PowerShell downloading from GitHub raw URLs, and for Visual Studio Code tunnels. Elastic
    Security, Splunk Enterprise Security and Microsoft Sentinel queries are attached. Mark of
    the Web bypasses (CVE-2024-21412) were used by Water Hydra against forex traders.""",
    """Attribution. Turla's Kazuar and TinyTurla-NG, Gamaredon's Pterodo, Ember Bear's
    WhisperGate and APT28's HeadLace all used legitimate services: Mockbin, Webhook.site,
    Google Drive and Dropbox. Poison Ivy, PlugX and ShadowPad remain tied to Mustang Panda,
    Earth Preta and Stately Taurus. Ragnar Locker, Hermes and Isaac Wiper are retired.""",
)

# A second set, written after the first had been measured and the detector corrected on what
# it showed ("Secondo" read as a given name, place names taken for ambiguous given names): these
# names, sentences and paragraphs were measured once, untouched by any correction.
FRESH_NAMES: dict[str, str] = {
    "en": """Harriet Lockwood; Declan Byrne; Imogen Farrow; Callum Fraser; Rosalind Tate;
        Owen Parry; Niamh Cassidy; Stuart Kemp; Felicity Rowe; Gregory Halloran""",
    "fr": """Gaëlle Besnard; Loïc Poirier; Solène Tessier; Hervé Masson; Clémence Aubert;
        Rémi Charpentier; Océane Leroy; Grégoire Bouvier; Maëlle Lemaire; Fabrice Delmas""",
    "de": """Hannelore Brandt; Lukas Vogt; Annika Sommer; Reinhard Kühn; Svenja Albrecht;
        Torsten Engel; Mareike Pohl; Henning Ziegler; Friederike Busch; Jörg Winkler""",
    "es": """Adrián Cabrera; Esperanza Vidal; Gonzalo Prieto; Inmaculada Herrero;
        Borja Calvo; Macarena Lozano; Ignacio Pascual; Remedios Cano; Óscar Méndez;
        Araceli Fuentes""",
    "it": """Tommaso Ferrari; Ludovica Pellegrini; Emanuele Sartori; Benedetta Orlando;
        Vittorio Gentile; Arianna Marchetti; Edoardo Fabbri; Camilla Bellini;
        Raffaele Testa; Noemi Villa""",
    "pt": """Rodrigo Baptista; Madalena Pires; Henrique Tavares; Constança Matos;
        Afonso Henriques Lima; Matilde Vaz; Duarte Sequeira; Benedita Morais; Simão Freitas;
        Carolina Barros""",
    "nl": """Freek Hoekstra; Roos van der Heijden; Stijn Verbeek; Tessa Kuipers;
        Jasper van Vliet; Merel Postma; Hidde Bosman; Fleur van Wijk; Sjoerd Vermeulen;
        Noor Scholten""",
    "pl": """Zbigniew Sikora; Halina Baran; Mateusz Duda; Urszula Szewczyk; Przemysław Ostrowski;
        Renata Tomaszewska; Sławomir Pietrzak; Kinga Czarnecka; Hubert Sadowski;
        Weronika Zalewska""",
    "cs": """Zdeněk Šťastný; Ivana Bartošová; Milan Holub; Dagmar Štěpánková;
        Roman Vlček; Helena Jandová; Stanislav Kříž; Petra Moravcová; Bohumil Říha;
        Jitka Tichá""",
    "sk": """Marián Kováč; Soňa Lukáčová; Stanislav Kollárik; Alžbeta Mihálová;
        Jozef Baláž; Katarína Dudášová; Ondrej Kríž; Viera Šuláková; Pavol Ondruš;
        Romana Hlavatá""",
    "ro": """Răzvan Petrescu; Corina Vasilescu; Ovidiu Manole; Iuliana Nistor; Marius Cozma;
        Daniela Suciu; Sebastian Ungureanu; Lavinia Pop; Tudor Stoian; Gabriela Rusu""",
    "da": """Bent Frandsen; Lone Svendsen; Ulrik Holst; Vibeke Mortensen; Claus Jeppesen;
        Tove Lassen; Asger Krogh; Dorthe Iversen; Rune Bisgaard; Hanne Thygesen""",
    "sv": """Ulf Hedström; Gunilla Nyberg; Viktor Blom; Ylva Strömberg; Torbjörn Falk;
        Agneta Sjögren; Hampus Lindgren; Maja Åkesson; Kjell Berglund; Lovisa Holm""",
    "no": """Terje Skogen; Randi Hagen; Audun Lien; Torill Eide; Harald Bakke; Marianne Vik;
        Stian Sandvik; Gunhild Rustad; Vegard Nilsen; Åse Moe""",
    "fi": """Heikki Laaksonen; Marjatta Leinonen; Olli Kettunen; Pirjo Kallio; Teemu Koivisto;
        Anneli Miettinen; Petri Kokkonen; Kirsi Hakala; Lauri Vainio; Eija Seppälä""",
    "is": """Gísli Ásgeirsson; Brynhildur Jónsdóttir; Davíð Oddsson; Ásdís Halldórsdóttir;
        Ragnar Þórarinsson; Sigrún Pálsdóttir; Þorvaldur Gylfason; Unnur Birgisdóttir;
        Hallgrímur Helgason; Vigdís Finnbogadóttir""",
    "et": """Jüri Kuusik; Katrin Lill; Ants Männik; Heli Kallas; Raivo Paju; Ene Tali;
        Tiit Vaino; Külli Roots; Peeter Sarapuu; Kaia Jõesaar""",
    "lv": """Ivars Kļaviņš; Vija Ozoliņa; Juris Kalniņš; Gunta Zeltiņa; Aigars Vilks;
        Rasma Birzniece; Oskars Priede; Silvija Kārkliņa; Edgars Rinkēvičs; Ināra Sproģe""",
    "lt": """Algirdas Petrauskas; Birutė Jonaitienė; Gediminas Kairys; Rasa Stankevičiūtė;
        Žydrūnas Paulauskas; Daiva Ramanauskaitė; Arūnas Mikalauskas; Vilma Žukauskienė;
        Karolis Bagdonas; Ugnė Kazlauskaitė""",
    "el": """Stavros Kyriakou; Eleftheria Papageorgiou; Apostolos Tsakiris; Chrysoula Manou;
        Georgia Anagnostou;
        Σταμάτης Παπαθανασίου; Μαργαρίτα Ραφαηλίδου; Ηλίας Κουτσογιάννης; Ζωή Νικολάου;
        Πέτρος Αναστασίου""",
    "tr": """Oğuz Karahan; Nazlı Tekin; Barış Erdem; Ebru Yavuz; Tolga Aydoğan; Seda Uçar;
        Volkan Başaran; Dilek Çakır; Ufuk Sarı; Pınar Akın""",
    "hu": """Ferenc Kelemen; Judit Halász; Csaba Vörös; Ágnes Pásztor; Gergely Márton;
        Szűcs Bence; Antal Réka; Fazekas Miklós; Király Dóra; Bakos Tibor""",
    "bg": """Yordan Zhelev; Rumyana Kirova; Emil Dobrev; Mariana Slavova; Boyko Tsvetkov;
        Стефан Грозев; Деница Радева; Никола Божилов; Весела Лечева; Атанас Пенев""",
    "hr": """Ante Barišić; Snježana Kralj; Damir Jurković; Vesna Pavičić; Robert Ćosić;
        Jelena Grubišić; Mladen Šimunović; Irena Lončar; Nenad Tadić; Sonja Milić""",
    "sl": """Bojan Kranjc; Irena Hribernik; Tadej Zajc; Mateja Leban; Damjan Bizjak;
        Sabina Korošec; Gašper Majcen; Simona Rebec; Aljaž Pečnik; Lidija Stopar""",
    "sq": """Agron Berisha; Lindita Hasani; Kujtim Spahiu; Mimoza Rexhepi; Bledar Meta;
        Vjollca Ahmeti; Shpëtim Gjini; Dorina Kapllani; Edison Tafaj; Ardiana Zhupa""",
}

FRESH_ENGLISH: tuple[str, ...] = (
    "Our SOC lead, {name}, isolated the host after the EDR alert fired on Tuesday.",
    "Earlier today {name} received a QR code by post that led to a fake Microsoft 365 login.",
    "Access logs show {name} signing in from Amsterdam while on leave in Crete.",
    "The ransom note was printed on every printer in the building, {name} told us.",
    "Two days later the attackers phoned {name} pretending to be from Cisco TAC.",
)

FRESH_NATIVE: dict[str, tuple[str, ...]] = {
    "en": ("Payroll staff including {name} were targeted with fake HR surveys.",),
    "fr": ("Jeudi, {name} a signalé un SMS frauduleux au CERT-FR.",),
    "de": ("Am Donnerstag meldete {name} eine verdächtige SMS an das CERT.",),
    "es": ("El jueves, {name} avisó al CCN-CERT de un SMS fraudulento.",),
    "it": ("Giovedì {name} ha segnalato al CSIRT un SMS fraudolento.",),
    "pt": ("Na quinta-feira, {name} comunicou ao CERT.PT um SMS fraudulento.",),
    "nl": ("Donderdag meldde {name} een verdachte sms bij het NCSC.",),
    "pl": ("W czwartek {name} zgłosił podejrzanego SMS-a do CERT Polska.",),
    "cs": ("Ve čtvrtek {name} nahlásil podezřelou SMS na NÚKIB.",),
    "sk": ("Vo štvrtok {name} nahlásil podozrivú SMS na SK-CERT.",),
    "ro": ("Joi, {name} a raportat un SMS suspect către DNSC.",),
    "da": ("Torsdag anmeldte {name} en mistænkelig sms til CFCS.",),
    "sv": ("I torsdags rapporterade {name} ett misstänkt sms till CERT-SE.",),
    "no": ("Torsdag meldte {name} fra om en mistenkelig SMS til NSM.",),
    "fi": ("Torstaina {name} ilmoitti epäilyttävästä tekstiviestistä NCSC-FI:lle.",),
    "is": ("Á fimmtudag tilkynnti {name} grunsamlegt SMS til CERT-IS.",),
    "et": ("Neljapäeval teatas {name} kahtlasest SMS-ist CERT-EE-le.",),
    "lv": ("Ceturtdien {name} ziņoja CERT.LV par aizdomīgu īsziņu.",),
    "lt": ("Ketvirtadienį {name} pranešė NKSC apie įtartiną SMS.",),
    "el": ("Την Πέμπτη ο/η {name} ανέφερε ένα ύποπτο SMS στην Εθνική Αρχή Κυβερνοασφάλειας.",),
    "tr": ("Perşembe günü {name} şüpheli bir SMS'i USOM'a bildirdi.",),
    "hu": ("Csütörtökön {name} gyanús SMS-t jelentett a Nemzeti Kibervédelmi Intézetnek.",),
    "bg": ("В четвъртък {name} съобщи за подозрителен SMS на CERT България.",),
    "hr": ("U četvrtak je {name} prijavio sumnjiv SMS CERT-u.",),
    "sl": ("V četrtek je {name} prijavil(a) sumljiv SMS SI-CERT-u.",),
    "sq": ("Të enjten {name} raportoi një SMS të dyshimtë te AKCESK.",),
}

FRESH_PROSE: tuple[str, ...] = (
    """Key Findings. Between January and April, Seashell Blizzard deployed the Kapeka backdoor
    in Estonia and Finland, while Laundry Bear stole Outlook Web Access sessions from Dutch
    police staff. Both reused Fortinet FortiGate and Juniper Networks appliances as relays.""",
    """Salt Typhoon compromised AT&T, Verizon and Lumen Technologies routers, and Flax Typhoon
    built the Raptor Train botnet from IP cameras. Marvin Gaye Road and Victoria Falls Hotel
    appeared as lure names in the phishing documents reviewed by Google Threat Intelligence.""",
    """The Lumma Stealer takedown by Europol and the Microsoft Digital Crimes Unit removed over
    2,300 domains. Rhadamanthys, Vidar Stealer and StealC filled the gap within weeks; Amadey
    and SmokeLoader delivered them, and Hunters International sold the stolen access.""",
    """Attack Path. Initial access came through a Cleo Harmony file transfer flaw, then
    PowerShell Empire and AnyDesk. The operators disabled Sophos Intercept X, dumped LSASS with
    ProcDump and exfiltrated data to MEGA via Rclone before detonating Medusa ransomware.""",
    """Regional Outlook. Hacktivist groups such as NoName057(16), Anonymous Sudan and Cyber
    Army of Russia Reborn hit portals in Vilnius, Riga and Prague with DDoSia. Ukraine's CERT-UA
    attributed wiper attacks on Kyivstar to Sandworm, also known as Frozenbarents and APT44.""",
)
